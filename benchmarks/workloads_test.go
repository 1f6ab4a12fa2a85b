package benchmarks_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/example/workerpool/benchmarks"
)

// TestMain checks for leaked goroutines. ants starts a default pool, with
// its purge and ticktock goroutines, when the package is initialised; those
// exist before any test runs, so IgnoreCurrent leaves exactly them out (an
// ants pool that a test builds and fails to release is still reported).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// TestThroughput runs W1 and W2 at a tiny size on every pool and checks that
// every task ran exactly once.
func TestThroughput(t *testing.T) {
	cases := []struct {
		name                string
		workers, users, per int
		body                func()
	}{
		{"one submitter", 4, 1, 1000, func() {}},
		{"many submitters", 4, 8, 125, benchmarks.Work(time.Microsecond)},
		{"sleep body", 100, 10, 20, func() { time.Sleep(time.Millisecond) }},
	}
	for _, k := range benchmarks.Kinds() {
		for _, c := range cases {
			t.Run(k.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				p, err := k.New(benchmarks.Config{Workers: c.workers})
				require.NoError(t, err)
				var ran atomic.Int64
				body := func() {
					c.body()
					ran.Add(1)
				}
				require.NoError(t, benchmarks.Throughput(p, body, c.users*c.per, c.users))
				require.NoError(t, p.Close())
				assert.Equal(t, int64(c.users*c.per), ran.Load(), "tasks run")
			})
		}
	}
}

// TestPriorityUnderBacklog runs W3 at a tiny size on every pool and checks
// that every critical task ran and recorded a delay.
func TestPriorityUnderBacklog(t *testing.T) {
	cfg := benchmarks.PriorityConfig{
		Backlog: 50,
		Work:    time.Microsecond,
		Every:   50 * time.Microsecond,
		Samples: 40,
	}
	for _, k := range benchmarks.Kinds() {
		if k.Unbounded {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			t.Parallel()
			p, err := k.New(benchmarks.Config{Workers: 1, Queue: 1 << 10})
			require.NoError(t, err)
			res, err := benchmarks.PriorityUnderBacklog(k, p, cfg)
			require.NoError(t, err)
			require.NoError(t, p.Close())
			require.Len(t, res.Delays, cfg.Samples)
			for i, d := range res.Delays {
				assert.Positive(t, d, "delay of critical task %d", i)
			}
			assert.Positive(t, res.Span.Wall)
		})
	}
}

// TestWaitingMemory runs W4 at a tiny size on every pool and checks that all
// the waiting tasks ran once released. Not parallel: the figure is read from
// the whole process's heap.
func TestWaitingMemory(t *testing.T) {
	for _, k := range benchmarks.Kinds() {
		if k.Unbounded {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			const tasks = 1000
			cfg := benchmarks.Config{Workers: 2, Queue: 2048}
			res, err := benchmarks.WaitingMemory(k, cfg, tasks)
			require.NoError(t, err)
			assert.Equal(t, int64(tasks), res.Completed, "tasks run")
		})
	}
}

// TestWork checks that the work loop is calibrated to the right order of
// magnitude: 200µs of work takes between 50µs and 50ms.
func TestWork(t *testing.T) {
	work := benchmarks.Work(200 * time.Microsecond)
	start := time.Now()
	work()
	took := time.Since(start)
	assert.Greater(t, took, 50*time.Microsecond)
	assert.Less(t, took, 50*time.Millisecond)
}

// TestMeter checks that CPU time is measured: a busy loop of about 5ms must
// show at least 1ms of CPU.
func TestMeter(t *testing.T) {
	m := benchmarks.StartMeter()
	benchmarks.Work(5 * time.Millisecond)()
	s := m.Stop()
	assert.GreaterOrEqual(t, s.Wall, time.Millisecond)
	assert.GreaterOrEqual(t, s.CPU, time.Millisecond)
}

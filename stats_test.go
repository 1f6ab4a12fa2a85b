package workerpool_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/example/workerpool"
)

func TestStatsLatencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(200))
		require.NoError(t, err)
		// 100 tasks of 10 ms each through one worker, submitted at once:
		// task i waits i*10 ms.
		var tasks []*workerpool.Task
		for range 100 {
			tasks = append(tasks, submit(t, p, func(context.Context) error {
				time.Sleep(10 * time.Millisecond)
				return nil
			}, workerpool.WithPriority(workerpool.PriorityHigh)))
		}
		<-tasks[len(tasks)-1].Done()
		s := p.Stats()
		within := func(want time.Duration, got time.Duration) {
			t.Helper()
			assert.InEpsilon(t, float64(want), float64(got), 0.02, "got %v, want %v", got, want)
		}
		assert.Equal(t, uint64(100), s.Run.Count)
		within(10*time.Millisecond, s.Run.P50)
		within(10*time.Millisecond, s.Run.P99)
		assert.Equal(t, 10*time.Millisecond, s.Run.Max)
		assert.Equal(t, 10*time.Millisecond, s.Run.Mean)
		within(490*time.Millisecond, s.Wait.P50)
		within(980*time.Millisecond, s.Wait.P99)
		assert.Equal(t, 990*time.Millisecond, s.Wait.Max)
		assert.Equal(t, s.Wait, s.WaitByLevel.High, "all tasks were high")
		assert.Equal(t, uint64(0), s.WaitByLevel.Normal.Count)

		// Cumulative buckets count every task and stay after the window.
		last := s.RunBuckets[len(s.RunBuckets)-1]
		assert.Equal(t, uint64(100), last.Count)
		time.Sleep(2 * time.Minute)
		s = p.Stats()
		assert.Equal(t, uint64(0), s.Run.Count, "the window has rolled over")
		assert.Equal(t, uint64(100), s.RunBuckets[len(s.RunBuckets)-1].Count)
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestStatsGauges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMinWorkers(1), workerpool.WithMaxWorkers(2))
		require.NoError(t, err)
		g := newGate()
		submit(t, p, g.fn)
		submit(t, p, g.fn)
		time.Sleep(time.Second)
		for _, pr := range []workerpool.Priority{-100, workerpool.PriorityLow, 3, 12, 99} {
			submit(t, p, ok, workerpool.WithPriority(pr))
		}
		time.Sleep(3 * time.Second)
		s := p.Stats()
		assert.Equal(t, workerpool.LevelCounts{Low: 2, Normal: 1, High: 1, Critical: 1}, s.QueuedByLevel)
		assert.Equal(t, 3*time.Second, s.OldestWait)
		assert.Equal(t, 1, s.MinWorkers)
		assert.Equal(t, 2, s.MaxWorkers)
		assert.False(t, s.Pinned)
		// Both workers were busy for all 4 s of their lives.
		assert.Equal(t, 8*time.Second, s.BusyTime)
		assert.Equal(t, 8*time.Second, s.LiveTime)
		assert.InDelta(t, 100.0, s.Utilization, 0.001)
		require.Len(t, s.PerWorker, 2)
		assert.Equal(t, 1, s.PerWorker[0].ID)
		assert.Equal(t, 1, s.PerWorker[0].Load)

		g.open()
		synctest.Wait()
		time.Sleep(4 * time.Second)
		s = p.Stats()
		assert.InDelta(t, 50.0, s.Utilization, 0.001, "idle for half their lives")
		assert.Equal(t, time.Duration(0), s.OldestWait)
		p.SetNumWorkers(2)
		assert.True(t, p.Stats().Pinned)
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestCountersMatchStats(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(2))
	for range 10 {
		require.NoError(t, wait(t, submit(t, p, ok, workerpool.WithSize(3))))
	}
	c, s := p.Counters(), p.Stats()
	assert.Equal(t, s.Submitted, c.Submitted)
	assert.Equal(t, s.Succeeded, c.Succeeded)
	assert.Equal(t, uint64(30), c.BytesProcessed)
	assert.Equal(t, s.Workers, c.Workers)
	assert.Nil(t, c.PerWorker)
	assert.Equal(t, uint64(0), c.Run.Count, "Counters leaves latency out")
	assert.Equal(t, uint64(10), s.Run.Count)
}

func TestStatsJSON(t *testing.T) {
	p := newPool(t)
	require.NoError(t, wait(t, submit(t, p, ok, workerpool.WithSize(7))))
	b, err := json.Marshal(p.Stats())
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, key := range []string{
		"submitted", "succeeded", "bytes_processed", "workers", "queued",
		"success_rate_pct", "utilization_pct", "oldest_wait_ms", "window_ms",
		"wait", "run", "wait_by_level", "run_buckets", "per_worker",
	} {
		assert.Contains(t, m, key)
	}
	assert.Equal(t, 7.0, m["bytes_processed"])
	run := m["run"].(map[string]any)
	assert.Equal(t, 1.0, run["count"])
	assert.Contains(t, run, "p99_ms")
	w := m["per_worker"].([]any)[0].(map[string]any)
	assert.Contains(t, w, "avg_run_ms")
}

func ExamplePool_Stats_expvar() {
	p, _ := workerpool.New()
	defer p.Shutdown(context.Background())
	// Publish the pool's Stats at /debug/vars, next to the runtime's.
	expvar.Publish("workerpool", expvar.Func(func() any { return p.Stats() }))

	task, _ := p.Submit(context.Background(), func(context.Context) error { return nil },
		workerpool.WithSize(512))
	task.Wait(context.Background())

	var s struct {
		Succeeded      uint64  `json:"succeeded"`
		BytesProcessed uint64  `json:"bytes_processed"`
		SuccessRate    float64 `json:"success_rate_pct"`
	}
	json.NewDecoder(strings.NewReader(expvar.Get("workerpool").String())).Decode(&s)
	fmt.Println(s.Succeeded, s.BytesProcessed, s.SuccessRate)
	// Output: 1 512 100
}

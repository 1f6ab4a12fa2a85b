package benchmarks_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/example/workerpool/benchmarks"
)

// A body is a named task body.
type body struct {
	name string
	fn   func()
}

// reportSpan reports a span's per-task figures with b.ReportMetric.
func reportSpan(b *testing.B, s benchmarks.Span, tasks int) {
	b.Helper()
	n := float64(tasks)
	b.ReportMetric(float64(s.Wall.Nanoseconds())/n, "wall-ns/task")
	b.ReportMetric(float64(s.CPU.Nanoseconds())/n, "cpu-ns/task")
	b.ReportMetric(float64(s.GCCycles), "gc-cycles")
}

// BenchmarkW1Throughput submits b.N tasks (run it with -benchtime=1000000x)
// with an empty body and with about 1µs of CPU work, from 1 submitter and
// from GOMAXPROCS submitters, to GOMAXPROCS workers. One op is one task.
func BenchmarkW1Throughput(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	bodies := []body{{"empty", func() {}}, {"1us", benchmarks.Work(time.Microsecond)}}
	for _, bd := range bodies {
		for _, users := range slices.Compact([]int{1, procs}) {
			for _, k := range benchmarks.Kinds() {
				name := fmt.Sprintf("body=%s/submitters=%d/pool=%s", bd.name, users, k.Name)
				b.Run(name, func(b *testing.B) {
					p, err := k.New(benchmarks.Config{Workers: procs})
					require.NoError(b, err)
					b.ReportAllocs()
					b.ResetTimer()
					m := benchmarks.StartMeter()
					err = benchmarks.Throughput(p, bd.fn, b.N, users)
					s := m.Stop()
					b.StopTimer()
					require.NoError(b, err)
					require.NoError(b, p.Close())
					reportSpan(b, s, b.N)
				})
			}
		}
	}
}

// A shape is the users x tasks split of the other pools' suites.
type shape struct{ users, tasks int }

// BenchmarkW2Shapes runs the shapes the other suites use: users × tasks of
// 1x1,000,000 ... 10,000x100, with a rand.Float64 body and with a 10ms sleep.
// One op is a whole shape (1,000,000 tasks); figures are per task.
func BenchmarkW2Shapes(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	shapes := []shape{{1, 1_000_000}, {100, 10_000}, {1_000, 1_000}, {10_000, 100}}
	cases := []struct {
		body    body
		workers []int
	}{
		{body{"rand", func() { _ = rand.Float64() }}, []int{procs, 10_000}},
		{body{"sleep10ms", func() { time.Sleep(10 * time.Millisecond) }}, []int{10_000, 100_000}},
	}
	for _, c := range cases {
		for _, sh := range shapes {
			for i, workers := range c.workers {
				for _, k := range benchmarks.Kinds() {
					if k.Variant || (k.Unbounded && i > 0) {
						continue
					}
					name := fmt.Sprintf("body=%s/shape=%dx%d/workers=%d/pool=%s",
						c.body.name, sh.users, sh.tasks, workers, k.Name)
					b.Run(name, func(b *testing.B) {
						runShape(b, k, c.body.fn, sh, workers)
					})
				}
			}
		}
	}
}

func runShape(b *testing.B, k benchmarks.Kind, fn func(), sh shape, workers int) {
	b.ReportAllocs()
	total := sh.users * sh.tasks
	var spans []benchmarks.Span
	for b.Loop() {
		b.StopTimer()
		p, err := k.New(benchmarks.Config{Workers: workers})
		require.NoError(b, err)
		b.StartTimer()
		m := benchmarks.StartMeter()
		err = benchmarks.Throughput(p, fn, total, sh.users)
		spans = append(spans, m.Stop())
		b.StopTimer()
		require.NoError(b, err)
		require.NoError(b, p.Close())
		b.StartTimer()
	}
	var sum benchmarks.Span
	for _, s := range spans {
		sum.Wall += s.Wall
		sum.CPU += s.CPU
		sum.GCCycles += s.GCCycles
		sum.Allocs += s.Allocs
		sum.Bytes += s.Bytes
	}
	tasks := total * len(spans)
	reportSpan(b, sum, tasks)
	b.ReportMetric(float64(sum.Allocs)/float64(tasks), "allocs/task")
	b.ReportMetric(float64(sum.Bytes)/float64(tasks), "B/task")
}

// BenchmarkW3Priority measures the start delay of critical tasks that arrive
// every 200µs behind a backlog of 10,000 normal tasks of 25µs of CPU work,
// with GOMAXPROCS-1 workers (at least 1) so that the submitter keeps a
// processor. Pools without priorities just submit the critical tasks.
func BenchmarkW3Priority(b *testing.B) {
	cfg := benchmarks.PriorityConfig{
		Backlog: 10_000,
		Work:    25 * time.Microsecond,
		Every:   200 * time.Microsecond,
		Samples: 2_000,
	}
	workers := max(1, runtime.GOMAXPROCS(0)-1)
	for _, k := range benchmarks.Kinds() {
		if k.Variant || k.Unbounded {
			continue
		}
		b.Run("pool="+k.Name, func(b *testing.B) {
			var delays []time.Duration
			var gc uint32
			for b.Loop() {
				p, err := k.New(benchmarks.Config{Workers: workers, Queue: 1 << 20})
				require.NoError(b, err)
				res, err := benchmarks.PriorityUnderBacklog(k, p, cfg)
				require.NoError(b, err)
				require.NoError(b, p.Close())
				delays = append(delays, res.Delays...)
				gc += res.Span.GCCycles
			}
			slices.Sort(delays)
			us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
			b.ReportMetric(us(percentile(delays, 0.50)), "p50-us")
			b.ReportMetric(us(percentile(delays, 0.99)), "p99-us")
			b.ReportMetric(us(delays[len(delays)-1]), "max-us")
			b.ReportMetric(float64(gc)/float64(b.N), "gc-cycles")
		})
	}
}

// percentile returns the p-quantile (0 < p <= 1) of sorted, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// BenchmarkW4WaitingMemory measures the memory held per task waiting behind
// a busy pool: 1,000,000 tasks for pools that queue, 100,000 blocked
// submitter goroutines for pools that do not (a million goroutines would
// measure the same stacks, only slower).
func BenchmarkW4WaitingMemory(b *testing.B) {
	cfg := benchmarks.Config{Workers: runtime.GOMAXPROCS(0), Queue: 1 << 20}
	for _, k := range benchmarks.Kinds() {
		if k.Unbounded {
			continue
		}
		tasks := 1_000_000
		if !k.Queues {
			tasks = 100_000
		}
		b.Run("pool="+k.Name, func(b *testing.B) {
			var perTask float64
			for b.Loop() {
				res, err := benchmarks.WaitingMemory(k, cfg, tasks)
				require.NoError(b, err)
				require.Equal(b, int64(tasks), res.Completed)
				perTask += res.BytesPerTask
			}
			b.ReportMetric(perTask/float64(b.N), "B/waiting-task")
			b.ReportMetric(float64(tasks), "waiting-tasks")
		})
	}
}

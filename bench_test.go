package workerpool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/workerpool"
)

// workerCounts is the table every throughput benchmark runs over.
func workerCounts() []int {
	n := runtime.GOMAXPROCS(0)
	return []int{1, n, 4 * n}
}

func benchPool(b *testing.B, opts ...workerpool.Option) *workerpool.Pool {
	b.Helper()
	p, err := workerpool.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Shutdown(context.Background()) })
	return p
}

// submitAll submits b.N empty tasks from one goroutine, option opts[i%len]
// for task i, and waits until all have run. The timer covers only that.
func submitAll(b *testing.B, p *workerpool.Pool, ctx context.Context, opts ...workerpool.TaskOption) {
	b.Helper()
	var wg sync.WaitGroup
	body := func(context.Context) error { wg.Done(); return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		wg.Add(1)
		var err error
		if len(opts) > 0 {
			_, err = p.Submit(ctx, body, opts[i%len(opts)])
		} else {
			_, err = p.Submit(ctx, body)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
}

func BenchmarkSubmit(b *testing.B) {
	for _, n := range workerCounts() {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			p := benchPool(b, workerpool.WithMinWorkers(n), workerpool.WithMaxWorkers(n),
				workerpool.WithQueueSize(1024))
			submitAll(b, p, context.Background())
		})
	}
}

func BenchmarkSubmitCancellableCtx(b *testing.B) {
	n := runtime.GOMAXPROCS(0)
	p := benchPool(b, workerpool.WithMinWorkers(n), workerpool.WithMaxWorkers(n))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	submitAll(b, p, ctx)
}

func BenchmarkSubmitParallel(b *testing.B) {
	for _, n := range workerCounts() {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			p := benchPool(b, workerpool.WithMinWorkers(n), workerpool.WithMaxWorkers(n))
			var wg sync.WaitGroup
			body := func(context.Context) error { wg.Done(); return nil }
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					wg.Add(1)
					if _, err := p.Submit(ctx, body); err != nil {
						b.Error(err)
						return
					}
				}
			})
			wg.Wait()
		})
	}
}

func BenchmarkSubmitMixedPriority(b *testing.B) {
	n := runtime.GOMAXPROCS(0)
	p := benchPool(b, workerpool.WithMinWorkers(n), workerpool.WithMaxWorkers(n))
	submitAll(b, p, context.Background(),
		workerpool.WithPriority(workerpool.PriorityLow),
		workerpool.WithPriority(workerpool.PriorityNormal),
		workerpool.WithPriority(workerpool.PriorityHigh),
		workerpool.WithPriority(workerpool.PriorityCritical))
}

func BenchmarkTrySubmitFull(b *testing.B) {
	p := benchPool(b, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(1))
	release := make(chan struct{})
	defer close(release)
	hold := func(context.Context) error { <-release; return nil }
	p.Submit(context.Background(), hold)
	p.Submit(context.Background(), hold)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := p.TrySubmit(ctx, hold); !errors.Is(err, workerpool.ErrQueueFull) {
			b.Fatal(err)
		}
	}
}

func BenchmarkStats(b *testing.B) {
	p := benchPool(b, workerpool.WithMaxWorkers(4))
	for range 1000 {
		t, _ := p.Submit(context.Background(), func(context.Context) error { return nil })
		t.Wait(context.Background())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = p.Stats()
	}
}

func BenchmarkCounters(b *testing.B) {
	p := benchPool(b, workerpool.WithMaxWorkers(4))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = p.Counters()
	}
}

func BenchmarkHealth(b *testing.B) {
	p := benchPool(b, workerpool.WithMaxWorkers(4))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = p.Health()
	}
}

func BenchmarkSubmitWhileResizing(b *testing.B) {
	n := runtime.GOMAXPROCS(0)
	p := benchPool(b, workerpool.WithMaxWorkers(4*n))
	var wg sync.WaitGroup
	body := func(context.Context) error { wg.Done(); return nil }
	stop := make(chan struct{})
	var resizes atomic.Int64
	var side sync.WaitGroup
	side.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.SetNumWorkers(1 + i%(4*n))
			resizes.Add(1)
			runtime.Gosched()
		}
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		wg.Add(1)
		if _, err := p.Submit(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	close(stop)
	side.Wait()
	b.ReportMetric(float64(resizes.Load())/float64(b.N), "resizes/op")
}

func BenchmarkPrefetch(b *testing.B) {
	n := runtime.GOMAXPROCS(0)
	for _, d := range []int{1, 2, 8} {
		b.Run(fmt.Sprintf("depth=%d", d), func(b *testing.B) {
			p := benchPool(b, workerpool.WithMinWorkers(n), workerpool.WithMaxWorkers(n),
				workerpool.WithWorkerDepth(d))
			submitAll(b, p, context.Background())
		})
	}
}

// BenchmarkPrefetchCriticalDelay measures what prefetch costs priority: with
// GOMAXPROCS workers behind a backlog of short normal tasks, one op submits a
// critical task and reports, over all ops, the median and p99 time from its
// Submit to its start.
func BenchmarkPrefetchCriticalDelay(b *testing.B) {
	n := runtime.GOMAXPROCS(0)
	for _, d := range []int{1, 2, 8} {
		b.Run(fmt.Sprintf("depth=%d", d), func(b *testing.B) {
			p := benchPool(b, workerpool.WithMinWorkers(n), workerpool.WithMaxWorkers(n),
				workerpool.WithWorkerDepth(d), workerpool.WithQueueSize(1<<16))
			spin := func(context.Context) error {
				for i := 0; i < 2000; i++ { // a few microseconds of work
					spinSink += i
				}
				return nil
			}
			ctx := context.Background()
			delays := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				for p.Counters().Queued < 64 {
					p.Submit(ctx, spin)
				}
				start := time.Now()
				started := make(chan time.Duration, 1)
				p.Submit(ctx, func(context.Context) error {
					started <- time.Since(start)
					return nil
				}, workerpool.WithPriority(workerpool.PriorityCritical))
				delays = append(delays, <-started)
			}
			b.StopTimer()
			slices.Sort(delays)
			b.ReportMetric(float64(delays[len(delays)/2].Microseconds()), "p50-us")
			b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds()), "p99-us")
		})
	}
}

var spinSink int

// BenchmarkCriticalBehindBacklog is W3 of the benchmarks module in small:
// one worker, 10,000 normal tasks of 25µs of CPU waiting, a critical task
// every 200µs (one op). It reports the critical tasks' start delay; the
// bound is the rest of the task running when one arrives.
func BenchmarkCriticalBehindBacklog(b *testing.B) {
	p := benchPool(b, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(1<<20))
	ctx := context.Background()
	spin := func(d time.Duration) {
		for t := time.Now(); time.Since(t) < d; {
		}
	}
	normal := func(context.Context) error { spin(25 * time.Microsecond); return nil }
	delays := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		for p.Counters().Queued < 10_000 {
			p.Submit(ctx, normal)
		}
		t0 := time.Now()
		started := make(chan time.Duration, 1)
		p.Submit(ctx, func(context.Context) error {
			started <- time.Since(t0)
			spin(25 * time.Microsecond)
			return nil
		}, workerpool.WithPriority(workerpool.PriorityCritical))
		time.Sleep(200 * time.Microsecond)
		delays = append(delays, <-started)
	}
	b.StopTimer()
	slices.Sort(delays)
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds()), "p99-us")
}

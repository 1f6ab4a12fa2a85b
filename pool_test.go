package workerpool_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/example/workerpool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// liveness bounds a wait that must end; it is generous on purpose, for a
// loaded 2-core machine, and is never what a test measures.
const liveness = 10 * time.Second

func newPool(t *testing.T, opts ...workerpool.Option) *workerpool.Pool {
	t.Helper()
	p, err := workerpool.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), liveness)
		defer cancel()
		assert.NoError(t, p.Shutdown(ctx), "Shutdown in cleanup")
	})
	return p
}

// gate is a task body that blocks until the gate opens, and tells when it
// has started.
type gate struct {
	started chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{started: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (g *gate) fn(ctx context.Context) error {
	g.started <- struct{}{}
	<-g.release
	return nil
}

func (g *gate) open() { close(g.release) }

// waitStarted waits for n tasks of g to start.
func (g *gate) waitStarted(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-g.started:
		case <-time.After(liveness):
			t.Fatalf("task did not start within %v", liveness)
		}
	}
}

func wait(t *testing.T, task *workerpool.Task) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	select {
	case <-task.Done():
		return task.Wait(ctx)
	case <-ctx.Done():
		t.Fatalf("task did not end within %v (outcome %v)", liveness, task.Outcome())
		return nil
	}
}

func submit(t *testing.T, p *workerpool.Pool, fn func(context.Context) error, opts ...workerpool.TaskOption) *workerpool.Task {
	t.Helper()
	task, err := p.Submit(context.Background(), fn, opts...)
	require.NoError(t, err)
	return task
}

func ok(context.Context) error { return nil }

// assertQuiet checks the accounting identity and the gauges' bounds of a
// quiet pool.
func assertQuiet(t *testing.T, s workerpool.Stats) {
	t.Helper()
	ended := s.Succeeded + s.Failed + s.Panicked + s.Canceled + s.Dropped
	assert.Equal(t, s.Submitted, ended+uint64(s.Queued)+uint64(s.Busy),
		"Submitted != outcomes + Queued + Busy in %+v", s)
	assertBounds(t, s)
}

func assertBounds(t *testing.T, s workerpool.Stats) {
	t.Helper()
	assert.GreaterOrEqual(t, s.Busy, 0)
	assert.GreaterOrEqual(t, s.Queued, 0)
	assert.LessOrEqual(t, s.Busy, s.Workers, "Busy > Workers in %+v", s)
	assert.GreaterOrEqual(t, s.SuccessRate, 0.0)
	assert.LessOrEqual(t, s.SuccessRate, 100.0)
}

func TestNewRejectsBadOptions(t *testing.T) {
	cases := []struct {
		name   string
		opts   []workerpool.Option
		option string
	}{
		{"negative min", []workerpool.Option{workerpool.WithMinWorkers(-1)}, "WithMinWorkers"},
		{"zero max", []workerpool.Option{workerpool.WithMaxWorkers(0)}, "WithMaxWorkers"},
		{"min above max", []workerpool.Option{workerpool.WithMinWorkers(3), workerpool.WithMaxWorkers(2)}, "WithMinWorkers"},
		{"negative queue", []workerpool.Option{workerpool.WithQueueSize(-1)}, "WithQueueSize"},
		{"negative idle timeout", []workerpool.Option{workerpool.WithIdleTimeout(-time.Second)}, "WithIdleTimeout"},
		{"negative aging", []workerpool.Option{workerpool.WithAging(-time.Second)}, "WithAging"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := workerpool.New(tc.opts...)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, workerpool.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.option)
		})
	}
}

func TestNewStartsMinWorkers(t *testing.T) {
	p := newPool(t, workerpool.WithMinWorkers(3), workerpool.WithMaxWorkers(5))
	assert.Equal(t, 3, p.NumWorkers())

	// A minimum above GOMAXPROCS raises the default maximum instead of
	// failing.
	q := newPool(t, workerpool.WithMinWorkers(runtime.GOMAXPROCS(0)+1), nil)
	assert.Equal(t, runtime.GOMAXPROCS(0)+1, q.NumWorkers())
}

func TestSubmitRefusals(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(1))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	task, err := p.Submit(context.Background(), nil)
	assert.Nil(t, task)
	assert.ErrorIs(t, err, workerpool.ErrNilTask)

	ran := false
	task, err = p.Submit(canceled, func(context.Context) error { ran = true; return nil })
	assert.Nil(t, task)
	assert.ErrorIs(t, err, context.Canceled)

	s := p.Stats()
	assert.Equal(t, uint64(2), s.Rejected)
	assert.Equal(t, uint64(0), s.Submitted)
	require.NoError(t, p.Shutdown(context.Background()))
	assert.False(t, ran, "fn of a refused Submit ran")

	task, err = p.Submit(context.Background(), ok)
	assert.Nil(t, task)
	assert.ErrorIs(t, err, workerpool.ErrClosed)
	task, err = p.TrySubmit(context.Background(), ok)
	assert.Nil(t, task)
	assert.ErrorIs(t, err, workerpool.ErrClosed)
	assert.Equal(t, uint64(4), p.Stats().Rejected)
}

func TestOutcomes(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name    string
		fn      func(context.Context) error
		opts    []workerpool.TaskOption
		outcome workerpool.Outcome
		check   func(t *testing.T, err error)
	}{
		{
			name: "succeeded", fn: ok, outcome: workerpool.OutcomeSucceeded,
			check: func(t *testing.T, err error) { assert.NoError(t, err) },
		},
		{
			name:    "failed",
			fn:      func(context.Context) error { return boom },
			outcome: workerpool.OutcomeFailed,
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, boom) },
		},
		{
			name: "returns context.Canceled of its own",
			fn:   func(context.Context) error { return fmt.Errorf("wrapped: %w", context.Canceled) },
			// Nothing cancelled the task: its own error is a failure.
			outcome: workerpool.OutcomeFailed,
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, context.Canceled) },
		},
		{
			name:    "panicked",
			fn:      func(context.Context) error { panic("oops") },
			outcome: workerpool.OutcomePanicked,
			check: func(t *testing.T, err error) {
				var pe *workerpool.PanicError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "oops", pe.Value)
				assert.Contains(t, string(pe.Stack), "pool_test.go")
			},
		},
		{
			name:    "panicked with an error",
			fn:      func(context.Context) error { panic(boom) },
			outcome: workerpool.OutcomePanicked,
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, boom) },
		},
		{
			name:    "goexit",
			fn:      func(context.Context) error { runtime.Goexit(); return nil },
			outcome: workerpool.OutcomePanicked,
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, workerpool.ErrGoexit) },
		},
		{
			name: "own timeout",
			fn: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			opts:    []workerpool.TaskOption{workerpool.WithTimeout(time.Millisecond)},
			outcome: workerpool.OutcomeFailed,
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, context.DeadlineExceeded) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, workerpool.WithMinWorkers(1), workerpool.WithMaxWorkers(1))
			task := submit(t, p, tc.fn, tc.opts...)
			tc.check(t, wait(t, task))
			assert.Equal(t, tc.outcome, task.Outcome())
			// The worker survives: the pool keeps its size and runs more.
			require.NoError(t, wait(t, submit(t, p, ok)))
			assert.Equal(t, 1, p.NumWorkers())
			assertQuiet(t, p.Stats())
		})
	}
}

func TestPriorityOrderThroughOneWorker(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(1))
	g := newGate()
	submit(t, p, g.fn)
	g.waitStarted(t, 1)

	prios := []workerpool.Priority{
		workerpool.PriorityLow, workerpool.PriorityNormal, workerpool.PriorityHigh,
		workerpool.PriorityNormal, workerpool.PriorityCritical, workerpool.PriorityLow,
		workerpool.PriorityHigh, 5, workerpool.PriorityNormal,
	}
	var mu sync.Mutex
	var order []int
	tasks := make([]*workerpool.Task, len(prios))
	for i, pr := range prios {
		tasks[i] = submit(t, p, func(context.Context) error {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			return nil
		}, workerpool.WithPriority(pr))
	}
	g.open()
	for _, task := range tasks {
		require.NoError(t, wait(t, task))
	}
	// Critical, high (FIFO), 5, normal (FIFO), low (FIFO).
	assert.Equal(t, []int{4, 2, 6, 7, 1, 3, 8, 0, 5}, order)
}

func TestCriticalOvertakesBacklog(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(5000))
	g := newGate()
	submit(t, p, g.fn)
	g.waitStarted(t, 1)
	var normalRan atomic.Int64
	for range 3000 {
		submit(t, p, func(context.Context) error { normalRan.Add(1); return nil })
	}
	var before int64 = -1
	crit := submit(t, p, func(context.Context) error {
		before = normalRan.Load()
		return nil
	}, workerpool.WithPriority(workerpool.PriorityCritical))
	g.open()
	require.NoError(t, wait(t, crit))
	assert.Equal(t, int64(0), before, "normal tasks ran before the critical one")
}

func TestQueueBound(t *testing.T) {
	t.Run("zero means hand-off only", func(t *testing.T) {
		p := newPool(t, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(0))
		g := newGate()
		first, err := p.TrySubmit(context.Background(), g.fn)
		require.NoError(t, err)
		g.waitStarted(t, 1)
		_, err = p.TrySubmit(context.Background(), ok)
		assert.ErrorIs(t, err, workerpool.ErrQueueFull)
		g.open()
		require.NoError(t, wait(t, first))
		assert.Equal(t, uint64(1), p.Stats().Rejected)
	})
	t.Run("n waiting tasks", func(t *testing.T) {
		p := newPool(t, workerpool.WithMaxWorkers(2), workerpool.WithQueueSize(3))
		g := newGate()
		for range 5 {
			_, err := p.TrySubmit(context.Background(), g.fn)
			require.NoError(t, err)
		}
		g.waitStarted(t, 2)
		_, err := p.TrySubmit(context.Background(), ok)
		assert.ErrorIs(t, err, workerpool.ErrQueueFull)
		s := p.Stats()
		assert.Equal(t, 3, s.Queued)
		assert.Equal(t, 2, s.Busy)
		assertQuiet(t, s)
		g.open()
	})
}

func TestBlockedSubmittersAdmittedByPriority(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(1))
	g := newGate()
	submit(t, p, g.fn)
	g.waitStarted(t, 1)
	filler := submit(t, p, ok) // fills the queue

	var mu sync.Mutex
	var order []workerpool.Priority
	prios := []workerpool.Priority{
		workerpool.PriorityLow, workerpool.PriorityHigh, workerpool.PriorityNormal,
		workerpool.PriorityHigh, workerpool.PriorityCritical,
	}
	var wg sync.WaitGroup
	for i, pr := range prios {
		// Block one submitter at a time so that arrival order is known.
		wg.Go(func() {
			task, err := p.Submit(context.Background(), func(context.Context) error {
				mu.Lock()
				order = append(order, pr)
				mu.Unlock()
				return nil
			}, workerpool.WithPriority(pr))
			assert.NoError(t, err)
			assert.NoError(t, wait(t, task))
		})
		waitFor(t, func() bool { return blockedSubmitters(p) == i+1 })
	}
	g.open()
	wg.Wait()
	require.NoError(t, wait(t, filler))
	assert.Equal(t, []workerpool.Priority{
		workerpool.PriorityCritical, workerpool.PriorityHigh, workerpool.PriorityHigh,
		workerpool.PriorityNormal, workerpool.PriorityLow,
	}, order)
	assertQuiet(t, p.Stats())
}

func TestBlockedSubmittersReleasedByShutdown(t *testing.T) {
	p, err := workerpool.New(workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(1))
	require.NoError(t, err)
	g := newGate()
	submit(t, p, g.fn)
	g.waitStarted(t, 1)
	submit(t, p, ok)

	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := p.Submit(context.Background(), ok)
			errs <- err
		}()
		waitFor(t, func() bool { return blockedSubmitters(p) == i+1 })
	}
	done := make(chan error)
	go func() { done <- p.Shutdown(context.Background()) }()
	for range 3 {
		select {
		case err := <-errs:
			assert.ErrorIs(t, err, workerpool.ErrClosed)
		case <-time.After(liveness):
			t.Fatal("a blocked Submit was not released by Shutdown")
		}
	}
	g.open()
	require.NoError(t, <-done)
	s := p.Stats()
	assert.Equal(t, uint64(2), s.Succeeded)
	assert.Equal(t, uint64(3), s.Rejected)
	assert.Equal(t, 0, p.NumWorkers())
	assertQuiet(t, s)
}

func TestBlockedSubmitCtxEnds(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(0))
	g := newGate()
	submit(t, p, g.fn)
	g.waitStarted(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := p.Submit(ctx, ok)
		errc <- err
	}()
	waitFor(t, func() bool { return blockedSubmitters(p) == 1 })
	cancel()
	assert.ErrorIs(t, <-errc, context.Canceled)
	assert.Equal(t, uint64(1), p.Stats().Rejected)
	g.open()
}

func TestSubmitFromInsideTaskIntoFullPool(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(1))
	inner := make(chan error, 1)
	outer := submit(t, p, func(ctx context.Context) error {
		// The queue has room for one: the first nested Submit is accepted,
		// the second would block forever on the only worker, so it fails.
		if _, err := p.Submit(ctx, ok); err != nil {
			return err
		}
		_, err := p.Submit(ctx, ok)
		inner <- err
		return nil
	})
	require.NoError(t, wait(t, outer))
	assert.ErrorIs(t, <-inner, workerpool.ErrQueueFull)
}

func TestTaskCancel(t *testing.T) {
	t.Run("waiting task never runs", func(t *testing.T) {
		p := newPool(t, workerpool.WithMaxWorkers(1))
		g := newGate()
		submit(t, p, g.fn)
		g.waitStarted(t, 1)
		ran := make(chan struct{}, 1)
		task := submit(t, p, func(context.Context) error { ran <- struct{}{}; return nil })
		require.Equal(t, 1, p.Stats().Queued)
		task.Cancel()
		assert.Equal(t, 0, p.Stats().Queued, "Queued drops at cancel time")
		assert.ErrorIs(t, wait(t, task), context.Canceled)
		assert.Equal(t, workerpool.OutcomeCanceled, task.Outcome())
		g.open()
		require.NoError(t, wait(t, submit(t, p, ok)))
		assert.Empty(t, ran)
		assertQuiet(t, p.Stats())
	})
	t.Run("running task sees its ctx cancelled", func(t *testing.T) {
		p := newPool(t)
		started := make(chan struct{})
		task := submit(t, p, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return context.Cause(ctx)
		})
		<-started
		task.Cancel()
		assert.Error(t, wait(t, task))
		assert.Equal(t, workerpool.OutcomeCanceled, task.Outcome())
		task.Cancel() // no effect after the end
		assert.Equal(t, uint64(1), p.Stats().Canceled)
	})
	t.Run("running task that returns nil succeeds", func(t *testing.T) {
		p := newPool(t)
		started := make(chan struct{})
		task := submit(t, p, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		})
		<-started
		task.Cancel()
		assert.NoError(t, wait(t, task))
		assert.Equal(t, workerpool.OutcomeSucceeded, task.Outcome())
	})
}

func TestSubmitCtxEnds(t *testing.T) {
	t.Run("while waiting", func(t *testing.T) {
		p := newPool(t, workerpool.WithMaxWorkers(1))
		g := newGate()
		submit(t, p, g.fn)
		g.waitStarted(t, 1)
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{}, 1)
		task, err := p.Submit(ctx, func(context.Context) error { ran <- struct{}{}; return nil })
		require.NoError(t, err)
		cancel()
		assert.ErrorIs(t, wait(t, task), context.Canceled)
		assert.Equal(t, workerpool.OutcomeCanceled, task.Outcome())
		assert.Equal(t, 0, p.Stats().Queued)
		g.open()
		require.NoError(t, wait(t, submit(t, p, ok)))
		assert.Empty(t, ran)
	})
	t.Run("while running", func(t *testing.T) {
		p := newPool(t)
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		task, err := p.Submit(ctx, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		require.NoError(t, err)
		<-started
		cancel()
		assert.ErrorIs(t, wait(t, task), context.Canceled)
		assert.Equal(t, workerpool.OutcomeCanceled, task.Outcome())
	})
	t.Run("deadline bounds the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := workerpool.New(workerpool.WithMaxWorkers(1))
			require.NoError(t, err)
			g := newGate()
			submit(t, p, g.fn)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			task, err := p.Submit(ctx, ok)
			require.NoError(t, err)
			time.Sleep(time.Second) // fake time: the deadline passes
			synctest.Wait()
			assert.Equal(t, workerpool.OutcomeCanceled, task.Outcome())
			assert.ErrorIs(t, task.Err(), context.DeadlineExceeded)
			g.open()
			require.NoError(t, p.Shutdown(context.Background()))
		})
	})
}

func TestTaskTimeoutBoundsRunNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1))
		require.NoError(t, err)
		g := newGate()
		submit(t, p, g.fn)
		var ranFor time.Duration
		task := submit(t, p, func(ctx context.Context) error {
			start := time.Now()
			<-ctx.Done()
			ranFor = time.Since(start)
			return ctx.Err()
		}, workerpool.WithTimeout(time.Minute))
		time.Sleep(time.Hour) // waiting longer than the timeout is fine
		synctest.Wait()
		assert.Equal(t, workerpool.OutcomePending, task.Outcome())
		g.open()
		<-task.Done()
		assert.Equal(t, time.Minute, ranFor)
		assert.Equal(t, workerpool.OutcomeFailed, task.Outcome())
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestWaitCtxOnlyBoundsWaiting(t *testing.T) {
	p := newPool(t)
	g := newGate()
	task := submit(t, p, g.fn)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, task.Wait(ctx), context.Canceled)
	assert.Nil(t, task.Err())
	g.open()
	assert.NoError(t, wait(t, task))
	assert.Equal(t, workerpool.OutcomeSucceeded, task.Outcome())
}

func TestHandleResolvesAfterFnAndStats(t *testing.T) {
	p := newPool(t)
	var returned atomic.Bool
	for range 200 {
		task := submit(t, p, func(ctx context.Context) error {
			returned.Store(false)
			defer returned.Store(true)
			return nil
		}, workerpool.WithSize(10))
		<-task.Done()
		assert.True(t, returned.Load(), "Done closed before fn returned")
		s := p.Stats()
		assert.Equal(t, s.Submitted, s.Succeeded, "Stats did not count the outcome before Done")
	}
	assert.Equal(t, uint64(2000), p.Stats().BytesProcessed)
}

func TestGrowAndShrink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(
			workerpool.WithMinWorkers(1), workerpool.WithMaxWorkers(4),
			workerpool.WithIdleTimeout(time.Second))
		require.NoError(t, err)
		require.Equal(t, 1, p.NumWorkers())
		g := newGate()
		for range 6 {
			submit(t, p, g.fn)
		}
		synctest.Wait()
		s := p.Stats()
		assert.Equal(t, 4, s.Workers, "grows to max under a backlog")
		assert.Equal(t, 4, s.Busy)
		assert.Equal(t, 2, s.Queued)
		g.open()
		synctest.Wait()
		assert.Equal(t, 4, p.NumWorkers(), "idle workers wait for the timeout")
		time.Sleep(time.Second - time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 4, p.NumWorkers())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		assert.Equal(t, 1, p.NumWorkers(), "all idle out at once, never below min")
		time.Sleep(time.Hour)
		assert.Equal(t, 1, p.NumWorkers())
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, 0, p.NumWorkers())
	})
}

func TestGrowsWhenTaskWaitsNotWhenQueueFull(t *testing.T) {
	// Unlike ThreadPoolExecutor, a second worker starts for the second
	// task though the queue has plenty of room.
	p := newPool(t, workerpool.WithMaxWorkers(2), workerpool.WithQueueSize(100))
	g := newGate()
	submit(t, p, g.fn)
	submit(t, p, g.fn)
	g.waitStarted(t, 2)
	assert.Equal(t, 2, p.NumWorkers())
	g.open()
}

func TestIdleTimeoutZeroRetiresAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(3), workerpool.WithIdleTimeout(0))
		require.NoError(t, err)
		g := newGate()
		for range 3 {
			submit(t, p, g.fn)
		}
		synctest.Wait()
		require.Equal(t, 3, p.NumWorkers())
		g.open()
		synctest.Wait()
		assert.Equal(t, 0, p.NumWorkers())
		require.NoError(t, wait(t, submit(t, p, ok)))
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestSetNumWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(
			workerpool.WithMinWorkers(1), workerpool.WithMaxWorkers(8),
			workerpool.WithIdleTimeout(time.Second))
		require.NoError(t, err)
		assert.Equal(t, 1, p.SetNumWorkers(-5), "clamped to min")
		assert.Equal(t, 8, p.SetNumWorkers(100), "clamped to max")
		synctest.Wait()
		assert.Equal(t, 8, p.NumWorkers(), "pinned workers start at once")
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, 8, p.NumWorkers(), "no idle retirement while pinned")

		assert.Equal(t, 2, p.SetNumWorkers(2))
		synctest.Wait()
		assert.Equal(t, 2, p.NumWorkers())
		g := newGate()
		for range 10 {
			submit(t, p, g.fn)
		}
		synctest.Wait()
		s := p.Stats()
		assert.Equal(t, 2, s.Workers, "no growth on backlog while pinned")
		assert.Equal(t, 8, s.Queued)

		p.ResumeScaling()
		synctest.Wait()
		s = p.Stats()
		assert.Equal(t, 8, s.Workers, "scaler grows on backlog again")
		assert.Equal(t, 2, s.Queued)

		p.SetNumWorkers(3)
		synctest.Wait()
		assert.Equal(t, 8, p.NumWorkers(), "busy workers finish their task first")
		g.open()
		synctest.Wait()
		assert.Equal(t, 3, p.NumWorkers())
		p.ResumeScaling()
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, 1, p.NumWorkers(), "idle workers retire after ResumeScaling")
		assertQuiet(t, p.Stats())
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestConcurrentSubmitResizeStats(t *testing.T) {
	p := newPool(t, workerpool.WithMinWorkers(1), workerpool.WithMaxWorkers(8),
		workerpool.WithQueueSize(16), workerpool.WithIdleTimeout(time.Millisecond))
	const producers, perProducer = 16, 500
	runs := make([]atomic.Int32, producers*perProducer)
	stop := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() {
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r.IntN(4) == 0 {
				p.ResumeScaling()
			} else {
				p.SetNumWorkers(r.IntN(10))
			}
			s := p.Stats()
			assertBounds(t, s)
			assert.LessOrEqual(t, s.Busy, 8)
			runtime.Gosched()
		}
	})
	var wg sync.WaitGroup
	for i := range producers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for j := range perProducer {
				k := i*perProducer + j
				pr := workerpool.Priority(r.IntN(41) - 20)
				task, err := p.Submit(context.Background(), func(context.Context) error {
					runs[k].Add(1)
					return nil
				}, workerpool.WithPriority(pr))
				if assert.NoError(t, err) {
					assert.NoError(t, wait(t, task))
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	side.Wait()
	for k := range runs {
		require.Equal(t, int32(1), runs[k].Load(), "task %d ran %d times", k, runs[k].Load())
	}
	s := p.Stats()
	assert.Equal(t, uint64(producers*perProducer), s.Succeeded)
	assertQuiet(t, s)
}

func TestSubmitRacesShutdown(t *testing.T) {
	for round := range 20 {
		p, err := workerpool.New(workerpool.WithMaxWorkers(4), workerpool.WithQueueSize(8))
		require.NoError(t, err)
		var ran atomic.Int64
		var accepted []*workerpool.Task
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					task, err := p.Submit(context.Background(), func(context.Context) error {
						ran.Add(1)
						return nil
					})
					if err != nil {
						assert.ErrorIs(t, err, workerpool.ErrClosed)
						return
					}
					mu.Lock()
					accepted = append(accepted, task)
					mu.Unlock()
				}
			})
		}
		runtime.Gosched()
		require.NoError(t, p.Shutdown(context.Background()), "round %d", round)
		wg.Wait()
		for _, task := range accepted {
			assert.Equal(t, workerpool.OutcomeSucceeded, task.Outcome())
		}
		s := p.Stats()
		assert.Equal(t, uint64(len(accepted)), s.Submitted)
		assert.Equal(t, int64(len(accepted)), ran.Load(), "a refused task ran, or an accepted one did not")
		assertQuiet(t, s)
	}
}

func TestShutdownPastDeadline(t *testing.T) {
	p, err := workerpool.New(workerpool.WithMaxWorkers(2), workerpool.WithQueueSize(10))
	require.NoError(t, err)
	started := make(chan struct{}, 2)
	running := make([]*workerpool.Task, 2)
	for i := range running {
		running[i] = submit(t, p, func(ctx context.Context) error {
			started <- struct{}{}
			<-ctx.Done()
			return context.Cause(ctx)
		})
	}
	<-started
	<-started
	waiting := make([]*workerpool.Task, 5)
	for i := range waiting {
		waiting[i] = submit(t, p, ok)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.Shutdown(ctx), context.Canceled)
	for _, task := range waiting {
		assert.ErrorIs(t, wait(t, task), workerpool.ErrDropped)
		assert.Equal(t, workerpool.OutcomeDropped, task.Outcome())
	}
	for _, task := range running {
		assert.Error(t, wait(t, task))
		assert.Equal(t, workerpool.OutcomeCanceled, task.Outcome())
	}
	require.NoError(t, p.Shutdown(context.Background()))
	s := p.Stats()
	assert.Equal(t, uint64(5), s.Dropped)
	assert.Equal(t, uint64(2), s.Canceled)
	assert.Equal(t, 0, s.Workers)
	assertQuiet(t, s)
}

func TestShutdownDeadlineWithTaskIgnoringCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1))
		require.NoError(t, err)
		release := make(chan struct{})
		task := submit(t, p, func(context.Context) error { <-release; return nil })
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		assert.ErrorIs(t, p.Shutdown(ctx), context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, 1, p.NumWorkers(), "the stubborn task keeps its worker")
		close(release)
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, workerpool.OutcomeSucceeded, task.Outcome())
		assert.Equal(t, 0, p.NumWorkers())
	})
}

func TestShutdownIdleAndRepeated(t *testing.T) {
	p, err := workerpool.New(workerpool.WithMinWorkers(3), workerpool.WithMaxWorkers(3))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { assert.NoError(t, p.Shutdown(context.Background())) })
	}
	wg.Wait()
	assert.Equal(t, 0, p.NumWorkers())
	assert.NoError(t, p.Shutdown(context.Background()))
}

func TestShutdownDrainsQueue(t *testing.T) {
	p, err := workerpool.New(workerpool.WithMaxWorkers(2), workerpool.WithQueueSize(100))
	require.NoError(t, err)
	g := newGate()
	tasks := []*workerpool.Task{submit(t, p, g.fn), submit(t, p, g.fn)}
	for range 50 {
		tasks = append(tasks, submit(t, p, ok))
	}
	done := make(chan error)
	go func() { done <- p.Shutdown(context.Background()) }()
	g.open()
	require.NoError(t, <-done)
	for _, task := range tasks {
		assert.Equal(t, workerpool.OutcomeSucceeded, task.Outcome())
	}
}

func TestShutdownFromInsideTask(t *testing.T) {
	p, err := workerpool.New(workerpool.WithMaxWorkers(2))
	require.NoError(t, err)
	g := newGate()
	other := submit(t, p, g.fn)
	g.waitStarted(t, 1)
	shut := make(chan error, 1)
	self := submit(t, p, func(ctx context.Context) error {
		shut <- p.Shutdown(ctx)
		return nil
	})
	g.open()
	require.NoError(t, wait(t, self))
	assert.NoError(t, <-shut)
	assert.Equal(t, workerpool.OutcomeSucceeded, other.Outcome(), "inside Shutdown waited for the other task")
	require.NoError(t, p.Shutdown(context.Background()))
}

func TestPinnedToZeroStillDrainsOnShutdown(t *testing.T) {
	p, err := workerpool.New(workerpool.WithMaxWorkers(2))
	require.NoError(t, err)
	p.SetNumWorkers(0)
	task := submit(t, p, ok)
	require.NoError(t, p.Shutdown(context.Background()))
	assert.Equal(t, workerpool.OutcomeSucceeded, task.Outcome())
}

// waitFor polls cond with yields until it holds; it stands in for no sleep:
// the state it waits for is reached by other goroutines without timing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached within %v", liveness)
		}
		runtime.Gosched()
	}
}

func blockedSubmitters(p *workerpool.Pool) int { return p.Stats().Blocked }

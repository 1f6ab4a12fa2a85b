package workerpool_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/example/workerpool"
)

// stream keeps one worker busy with a constant stream of high-priority tasks
// of taskDur each, always keeping backlog of them waiting, until stop is
// closed. It runs inside a synctest bubble.
func stream(t *testing.T, p *workerpool.Pool, taskDur time.Duration, backlog int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	work := func(context.Context) error { time.Sleep(taskDur); return nil }
	for range backlog + 1 {
		submit(t, p, work, workerpool.WithPriority(workerpool.PriorityHigh))
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(taskDur):
				// One finishes every taskDur: submit one to replace it.
				submit(t, p, work, workerpool.WithPriority(workerpool.PriorityHigh))
			}
		}
	})
	return &wg
}

func TestAgingBoundsLowPriorityWait(t *testing.T) {
	const (
		d       = 10 * time.Millisecond
		taskDur = time.Millisecond
		backlog = 3
	)
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1), workerpool.WithAging(d),
			workerpool.WithQueueSize(100))
		require.NoError(t, err)
		stop := make(chan struct{})
		wg := stream(t, p, taskDur, backlog, stop)

		t0 := time.Now()
		var startedAt time.Time
		low := submit(t, p, func(context.Context) error {
			startedAt = time.Now()
			return nil
		}, workerpool.WithPriority(workerpool.PriorityLow))
		// The low task gains a unit per d, so after gap*d it ranks with a
		// high task submitted at that moment, and FIFO puts it first. Until
		// then it waits behind the high tasks submitted before t0+gap*d:
		// the backlog waiting at t0, and those arriving after, which the
		// worker runs at the rate they arrive. Add the task running at t0.
		gap := time.Duration(workerpool.PriorityHigh - workerpool.PriorityLow)
		bound := gap*d + backlog*taskDur + taskDur
		<-low.Done()
		close(stop)
		wg.Wait()
		waited := startedAt.Sub(t0)
		t.Logf("low task waited %v, bound %v", waited, bound)
		assert.LessOrEqual(t, waited, bound)
		assert.GreaterOrEqual(t, waited, gap*d, "low task overtook fresh high tasks before it aged enough")
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestNoAgingStarvesUntilStreamStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(100))
		require.NoError(t, err)
		stop := make(chan struct{})
		wg := stream(t, p, time.Millisecond, 3, stop)
		low := submit(t, p, ok, workerpool.WithPriority(workerpool.PriorityLow))
		time.Sleep(10 * time.Second)
		assert.Equal(t, workerpool.OutcomePending, low.Outcome(), "strict priority: low waits")
		close(stop)
		wg.Wait()
		<-low.Done()
		assert.Equal(t, workerpool.OutcomeSucceeded, low.Outcome())
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestAgedTasksNeverOutrankCritical(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1),
			workerpool.WithAging(time.Millisecond))
		require.NoError(t, err)
		g := newGate()
		submit(t, p, g.fn)
		var order []string
		var mu sync.Mutex
		note := func(name string) func(context.Context) error {
			return func(context.Context) error {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				return nil
			}
		}
		submit(t, p, note("low"), workerpool.WithPriority(workerpool.PriorityLow))
		time.Sleep(time.Hour) // the low task has aged by 3.6 million units
		submit(t, p, note("high"), workerpool.WithPriority(workerpool.PriorityHigh))
		submit(t, p, note("critical"), workerpool.WithPriority(workerpool.PriorityCritical))
		submit(t, p, note("max"), workerpool.WithPriority(1<<62))
		g.open()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, []string{"max", "critical", "low", "high"}, order)
	})
}

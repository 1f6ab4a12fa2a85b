package workerpool_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/example/workerpool"
)

func TestPrefetchPlacementAndStealing(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(2), workerpool.WithWorkerDepth(3),
		workerpool.WithQueueSize(10))
	gA, gB := newGate(), newGate()
	submit(t, p, gA.fn) // worker 1
	gA.waitStarted(t, 1)
	submit(t, p, gB.fn) // worker 2
	gB.waitStarted(t, 1)

	var mu sync.Mutex
	var ran []int
	record := func(i int) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			ran = append(ran, i)
			mu.Unlock()
			return nil
		}
	}
	var tasks []*workerpool.Task
	for i := range 5 {
		tasks = append(tasks, submit(t, p, record(i)))
	}
	// Tasks 0..3 alternate between the two workers (ties go to the lower
	// id), filling both to depth 3; task 4 finds both full and waits in the
	// shared queue.
	s := p.Stats()
	require.Len(t, s.PerWorker, 2)
	assert.Equal(t, 3, s.PerWorker[0].Load)
	assert.Equal(t, 3, s.PerWorker[1].Load)
	assert.Equal(t, 5, s.Queued, "prefetched tasks count as Queued")
	assert.Equal(t, 2, s.Busy)
	assertQuiet(t, s)

	// Worker 1 frees up: it runs its own two, the shared one, then steals
	// worker 2's two while worker 2 is still held.
	gA.open()
	for _, task := range tasks {
		require.NoError(t, wait(t, task))
	}
	assert.Equal(t, []int{0, 2, 4, 1, 3}, ran)
	s = p.Stats()
	assert.Equal(t, 0, s.Queued)
	assert.Equal(t, 1, s.Busy)
	gB.open()
}

func TestPrefetchRespectsQueueSize(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(2), workerpool.WithWorkerDepth(4),
		workerpool.WithQueueSize(3))
	g := newGate()
	for range 5 {
		_, err := p.TrySubmit(context.Background(), g.fn)
		require.NoError(t, err)
	}
	_, err := p.TrySubmit(context.Background(), ok)
	assert.ErrorIs(t, err, workerpool.ErrQueueFull)
	s := p.Stats()
	assert.Equal(t, 3, s.Queued)
	g.open()
}

func TestPrefetchCriticalGoesFirst(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(1), workerpool.WithWorkerDepth(3),
		workerpool.WithQueueSize(10))
	g := newGate()
	submit(t, p, g.fn)
	g.waitStarted(t, 1)
	var mu sync.Mutex
	var order []workerpool.Priority
	var tasks []*workerpool.Task
	for _, pr := range []workerpool.Priority{
		workerpool.PriorityLow, workerpool.PriorityLow, // prefetched
		workerpool.PriorityNormal, workerpool.PriorityCritical, // shared queue
	} {
		tasks = append(tasks, submit(t, p, func(context.Context) error {
			mu.Lock()
			order = append(order, pr)
			mu.Unlock()
			return nil
		}, workerpool.WithPriority(pr)))
	}
	g.open()
	for _, task := range tasks {
		require.NoError(t, wait(t, task))
	}
	// The worker takes the better of its local head and the shared head.
	assert.Equal(t, []workerpool.Priority{
		workerpool.PriorityCritical, workerpool.PriorityNormal,
		workerpool.PriorityLow, workerpool.PriorityLow,
	}, order)
}

func TestPrefetchCancelAndForcedShutdown(t *testing.T) {
	p, err := workerpool.New(workerpool.WithMaxWorkers(1), workerpool.WithWorkerDepth(3))
	require.NoError(t, err)
	g := newGate()
	submit(t, p, g.fn)
	g.waitStarted(t, 1)
	a := submit(t, p, ok)
	b := submit(t, p, ok)
	a.Cancel()
	assert.Equal(t, workerpool.OutcomeCanceled, a.Outcome())
	assert.Equal(t, 1, p.Stats().Queued)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.Shutdown(ctx), context.Canceled)
	assert.ErrorIs(t, wait(t, b), workerpool.ErrDropped)
	g.open()
	require.NoError(t, p.Shutdown(context.Background()))
	assertQuiet(t, p.Stats())
}

func TestPrefetchShrinkReturnsLocalTasks(t *testing.T) {
	p := newPool(t, workerpool.WithMaxWorkers(2), workerpool.WithWorkerDepth(3))
	gA, gB := newGate(), newGate()
	submit(t, p, gA.fn)
	submit(t, p, gB.fn)
	gA.waitStarted(t, 1)
	gB.waitStarted(t, 1)
	var tasks []*workerpool.Task
	for range 4 {
		tasks = append(tasks, submit(t, p, ok))
	}
	// Pin to one worker: the first to finish its task leaves, and its
	// prefetched tasks go back to the shared queue for the other.
	p.SetNumWorkers(1)
	gA.open()
	waitFor(t, func() bool { return p.NumWorkers() == 1 })
	gB.open()
	for _, task := range tasks {
		require.NoError(t, wait(t, task))
	}
	assertQuiet(t, p.Stats())
}

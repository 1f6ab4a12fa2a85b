package workerpool

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// A Pool runs submitted functions on a bounded, elastic set of worker
// goroutines, highest priority first. Create one with New; its methods are
// safe for concurrent use. A Pool must be shut down with Shutdown to stop its
// workers.
type Pool struct {
	cfg   config
	start time.Time // the zero of every timestamp the pool takes

	// mu guards everything from here to the atomics: the queue, the blocked
	// submitters, the workers, the counters and the pool's state. Submit,
	// a worker taking its next task, and Stats each hold it briefly; nothing
	// blocks or calls user code while holding it.
	mu       sync.Mutex
	state    poolState
	queue    taskHeap  // accepted tasks waiting to start
	blocked  taskHeap  // Submits waiting for room, not yet accepted
	workers  []*worker // live workers, in no order
	bal      balancer  // the workers that can take a task now
	busy     int       // workers running a task
	pinned   bool      // SetNumWorkers owns the size
	target   int       // the size while pinned
	seq      uint64    // last sequence number given to a task
	nextID   int       // id of the next worker
	count    counters
	changed  chan struct{} // closed when a Shutdown waiter should look again
	selfWait int           // Shutdown calls waiting inside a task of this pool

	rejected atomic.Uint64
	health   monitor        // windowed figures for Health and Stats
	wg       sync.WaitGroup // one count per worker goroutine
}

type poolState uint8

const (
	stateOpen    poolState = iota
	stateClosing           // Shutdown began: no new tasks, the queue drains
	stateForced            // a Shutdown ctx ended: the queue was dropped
)

// counters are the outcomes and totals that Stats reports; p.mu guards them.
type counters struct {
	submitted, succeeded, failed, panicked, canceled, dropped, bytes uint64
}

// poolKey is the context key under which a running task's context holds its
// pool, so that Submit and Shutdown can tell a call from inside a task.
type poolKey struct{}

// runCtx is the context a task's function receives: the run context the
// pool derived, answering poolKey itself. It lives inside the Task, so it
// costs no allocation.
type runCtx struct {
	context.Context
	p *Pool
}

func (c *runCtx) Value(key any) any {
	if _, ok := key.(poolKey); ok {
		return c.p
	}
	return c.Context.Value(key)
}

// New returns a pool configured by opts, with its minimum of workers
// started. It returns an error wrapping [ErrInvalidOption] for every bad
// option.
func New(opts ...Option) (*Pool, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, start: time.Now()}
	p.bal.depth = cfg.depth
	p.mu.Lock()
	for range cfg.min {
		p.spawnLocked(nil)
	}
	p.mu.Unlock()
	return p, nil
}

// now returns the monotonic nanoseconds since the pool started.
func (p *Pool) now() int64 { return int64(time.Since(p.start)) }

// Submit hands fn to the pool and returns its handle. While the queue is
// full it blocks until there is room, ctx ends (it returns ctx.Err()), or
// Shutdown begins (it returns [ErrClosed] at once); blocked calls are
// admitted highest priority first, first come first served among equals.
//
// Called from inside a running task with that task's context (or one
// derived from it), Submit does not block on a full queue but returns
// [ErrQueueFull]: if every worker waited for room, none would make it.
//
// fn receives a context derived from ctx: it is cancelled when ctx ends, on
// [Task.Cancel], when the task's [WithTimeout] expires, on a forced
// Shutdown, and when fn returns. A handler whose work must outlive its
// request submits with context.WithoutCancel(r.Context()).
//
// A task whose ctx ends while it waits never runs. A nil fn returns
// [ErrNilTask]; a ctx already done returns ctx.Err(). Refused calls count as
// Rejected in Stats.
func (p *Pool) Submit(ctx context.Context, fn func(context.Context) error, opts ...TaskOption) (*Task, error) {
	return p.submit(ctx, fn, opts, true)
}

// TrySubmit is Submit without the wait: when the queue is full it returns
// [ErrQueueFull] at once.
func (p *Pool) TrySubmit(ctx context.Context, fn func(context.Context) error, opts ...TaskOption) (*Task, error) {
	return p.submit(ctx, fn, opts, false)
}

func (p *Pool) submit(ctx context.Context, fn func(context.Context) error, opts []TaskOption, block bool) (*Task, error) {
	if fn == nil {
		return nil, p.reject(ErrNilTask)
	}
	if err := ctx.Err(); err != nil {
		return nil, p.reject(err)
	}
	var tc taskConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&tc)
		}
	}
	t := &Task{
		p: p, fn: fn, ctx: ctx, prio: tc.prio, timeout: tc.timeout, size: tc.size,
		submit: p.now(), index: -1, done: make(chan struct{}),
	}

	p.mu.Lock()
	if p.state != stateOpen {
		p.mu.Unlock()
		return nil, p.reject(ErrClosed)
	}
	p.seq++
	t.key = makeKey(t.prio, t.submit, p.cfg.aging, p.seq)
	if len(p.blocked) == 0 && p.hasRoomLocked() {
		p.acceptLocked(t)
		p.mu.Unlock()
		return t, nil
	}
	if !block || ctx.Value(poolKey{}) == p {
		p.mu.Unlock()
		p.health.refusedFull(p.now())
		return nil, p.reject(ErrQueueFull)
	}
	t.state = stateBlocked
	t.admitted = make(chan struct{})
	p.blocked.push(t)
	p.mu.Unlock()

	return p.waitAdmitted(ctx, t)
}

// waitAdmitted blocks a Submit until its task is accepted, refused by
// Shutdown, or its ctx ends. Whoever frees room moves the task from blocked
// to accepted under p.mu, so no wake-up can be lost between the two.
func (p *Pool) waitAdmitted(ctx context.Context, t *Task) (*Task, error) {
	select {
	case <-t.admitted:
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch t.state {
	case stateBlocked:
		p.blocked.remove(t.index)
		return nil, p.reject(ctx.Err())
	case stateRejected:
		return nil, p.reject(ErrClosed)
	}
	return t, nil
}

func (p *Pool) reject(err error) error {
	p.rejected.Add(1)
	return err
}

// limitLocked is the number of workers the pool may run now.
func (p *Pool) limitLocked() int {
	if p.pinned {
		return p.target
	}
	return p.cfg.max
}

// hasRoomLocked reports whether a new task would be accepted now: a worker
// takes it, a new worker may start for it, or the queue has room.
func (p *Pool) hasRoomLocked() bool {
	return len(p.bal.h) > 0 || len(p.workers) < p.limitLocked() || len(p.queue) < p.cfg.queue
}

// acceptLocked accepts t and places it: on the worker the balancer picks, on
// a new worker, or in the queue. The caller has checked hasRoomLocked.
func (p *Pool) acceptLocked(t *Task) {
	p.count.submitted++
	p.health.accepted(t.submit)
	if w, err := p.bal.pick(); err == nil {
		p.assignLocked(w, t)
		w.wake <- t
		return
	}
	if len(p.workers) < p.limitLocked() {
		p.spawnLocked(t)
		return
	}
	p.enqueueLocked(t)
}

// enqueueLocked puts t in the queue and, when its Submit ctx can end,
// watches it: a task whose ctx ends while it waits leaves the queue at once.
func (p *Pool) enqueueLocked(t *Task) {
	t.state = stateQueued
	p.queue.push(t)
	if t.ctx.Done() != nil {
		t.stop = context.AfterFunc(t.ctx, func() { p.expire(t) })
	}
}

// expire ends a waiting task whose Submit ctx ended.
func (p *Pool) expire(t *Task) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.state == stateQueued {
		p.queue.remove(t.index)
		p.endLocked(t, OutcomeCanceled, t.ctx.Err())
		p.admitLocked()
	}
}

// admitLocked accepts blocked Submits, best first, while there is room.
func (p *Pool) admitLocked() {
	for len(p.blocked) > 0 && p.hasRoomLocked() {
		t := p.blocked.pop()
		p.acceptLocked(t)
		close(t.admitted)
	}
}

// popLocked takes the next task to run from the queue, skipping and ending
// tasks whose Submit ctx has ended; it returns nil when none is left.
func (p *Pool) popLocked() *Task {
	for len(p.queue) > 0 {
		t := p.queue.pop()
		if t.stop != nil {
			t.stop()
			t.stop = nil
		}
		if err := t.ctx.Err(); err != nil {
			p.endLocked(t, OutcomeCanceled, err)
			continue
		}
		p.admitLocked()
		return t
	}
	return nil
}

// assignLocked gives t to w and builds the context t runs with. The context
// is made here, under p.mu, so that Task.Cancel and a forced Shutdown always
// find it.
func (p *Pool) assignLocked(w *worker, t *Task) {
	t.state = stateRunning
	t.outcome.Store(int32(OutcomeRunning))
	w.cur = t
	p.busy++
	p.bal.setLoad(w, w.load+1)
	ctx, cancel := context.WithCancelCause(t.ctx)
	if t.timeout > 0 {
		ctx, t.stopTimeout = context.WithTimeoutCause(ctx, t.timeout, errTaskTimeout)
	}
	t.started = p.now()
	t.rc = runCtx{Context: ctx, p: p}
	t.cancel = cancel
}

// endLocked records t's outcome and resolves its handle. Stats counts the
// outcome before Done is closed.
func (p *Pool) endLocked(t *Task, oc Outcome, err error) {
	t.state = stateDone
	t.err = err
	t.fn = nil
	t.ctx = nil
	switch oc {
	case OutcomeSucceeded:
		p.count.succeeded++
		p.count.bytes += uint64(t.size)
	case OutcomeFailed:
		p.count.failed++
	case OutcomePanicked:
		p.count.panicked++
	case OutcomeCanceled:
		p.count.canceled++
	case OutcomeDropped:
		p.count.dropped++
	}
	t.outcome.Store(int32(oc))
	close(t.done)
}

// cancelTask ends a waiting task at once, or cancels a running task's
// context with cause.
func (p *Pool) cancelTask(t *Task, cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch t.state {
	case stateQueued:
		p.queue.remove(t.index)
		if t.stop != nil {
			t.stop()
			t.stop = nil
		}
		p.endLocked(t, OutcomeCanceled, context.Canceled)
		p.admitLocked()
	case stateRunning:
		t.cancel(cause)
	}
}

// finish records the end of t on w and returns w's next task, or nil with
// exit false when w should wait idle, or exit true when w should stop.
func (p *Pool) finish(w *worker, t *Task, err error, panicked bool) (next *Task, exit bool) {
	end := p.now()
	oc := classify(t, err, panicked)
	t.cancel(context.Canceled)
	if t.stopTimeout != nil {
		t.stopTimeout()
	}
	p.health.ran(end, t, oc, end-t.started)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.busy--
	w.cur = nil
	w.observe(time.Duration(end - t.started))
	// w becomes a candidate again only once nextLocked finds no work for
	// it; before that, admitting a blocked Submit could place a task on it.
	w.load--
	t.cancel = nil
	p.endLocked(t, oc, err)
	return p.nextLocked(w)
}

// classify tells the outcome of a task whose function returned err.
func classify(t *Task, err error, panicked bool) Outcome {
	switch {
	case panicked:
		return OutcomePanicked
	case err == nil:
		return OutcomeSucceeded
	}
	cause := context.Cause(t.rc.Context)
	if cause == nil || cause == errTaskTimeout {
		return OutcomeFailed
	}
	return OutcomeCanceled
}

// nextLocked decides what w does after a task: run the next one, wait idle,
// or stop.
func (p *Pool) nextLocked(w *worker) (*Task, bool) {
	if p.state == stateOpen && len(p.workers) > p.limitLocked() {
		p.removeWorkerLocked(w)
		return nil, true
	}
	if t := p.popLocked(); t != nil {
		p.assignLocked(w, t)
		return t, false
	}
	if p.state != stateOpen || p.retireNowLocked() {
		p.removeWorkerLocked(w)
		return nil, true
	}
	p.bal.fix(w)
	p.admitLocked() // w is a candidate again: a blocked Submit may fit
	return nil, false
}

// retireNowLocked reports whether a worker that found no work retires at
// once, with no idle wait.
func (p *Pool) retireNowLocked() bool {
	return !p.pinned && p.cfg.idleTimeout == 0 && len(p.workers) > p.cfg.min
}

// canRetireLocked reports whether an idle worker may retire on its timer.
func (p *Pool) canRetireLocked() bool {
	return p.state == stateOpen && !p.pinned && len(p.workers) > p.cfg.min
}

// spawnLocked starts a worker, running t first when t is not nil.
func (p *Pool) spawnLocked(t *Task) {
	p.nextID++
	w := &worker{p: p, id: p.nextID, pos: len(p.workers), wake: make(chan *Task, 2)}
	p.workers = append(p.workers, w)
	p.bal.register(w)
	if t != nil {
		p.assignLocked(w, t)
	}
	p.wg.Add(1)
	go w.loop(t)
}

// removeWorkerLocked forgets w; the caller makes sure its goroutine stops.
func (p *Pool) removeWorkerLocked(w *worker) {
	p.bal.unregister(w)
	last := len(p.workers) - 1
	p.workers[w.pos] = p.workers[last]
	p.workers[w.pos].pos = w.pos
	p.workers[last] = nil
	p.workers = p.workers[:last]
	if p.state != stateOpen {
		p.notifyLocked()
	}
}

// notifyLocked wakes every Shutdown call waiting for the workers to stop.
func (p *Pool) notifyLocked() {
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

// NumWorkers returns the number of live workers.
func (p *Pool) NumWorkers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.workers)
}

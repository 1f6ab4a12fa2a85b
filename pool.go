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
	queue    sharedQueue // accepted tasks waiting for any worker
	blocked  taskHeap    // Submits waiting for room, not yet accepted
	workers  []*worker   // live workers, in no order
	bal      balancer    // the workers that can take a task now
	busy     int         // workers running a task
	pinned   bool        // SetNumWorkers owns the size
	target   int         // the size while pinned
	seq      uint64      // last sequence number given to a task
	clock    int64       // the time of the operation holding mu; see tickLocked
	nextID   int         // id of the next worker
	count    counters
	local    int            // tasks prefetched onto workers (WithWorkerDepth)
	holders  []*worker      // workers with prefetched tasks, in no order
	oldest   *Task          // the waiting tasks in order of acceptance, for
	newest   *Task          // the age of the oldest one in Stats and Health
	byLevel  [numLevels]int // waiting tasks per named priority level
	lastAt   int64          // when busyNS and liveNS were last brought up to date
	busyNS   int64          // integral of busy workers over time
	liveNS   int64          // integral of live workers over time
	changed  chan struct{}  // closed when a Shutdown waiter should look again
	selfWait int            // Shutdown calls waiting inside a task of this pool

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
	p.health.win = newWindow(cfg.health.window, cfg.health.windowSlots)
	p.queue.aging = cfg.aging > 0
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
	t := &Task{p: p, fn: fn, ctx: ctx, submit: p.now(), index: -1}
	for _, opt := range opts {
		if opt != nil {
			opt(&t.taskConfig)
		}
	}

	p.mu.Lock()
	if p.state != stateOpen {
		p.mu.Unlock()
		return nil, p.reject(ErrClosed)
	}
	p.tickLocked(t.submit)
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

// NumWorkers returns the number of live workers.
func (p *Pool) NumWorkers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.workers)
}

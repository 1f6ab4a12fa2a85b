package workerpool

import (
	"runtime/debug"
	"time"
)

// A worker is one goroutine that runs tasks one after another. p.mu guards
// its fields except wake, which only the pool sends on (under p.mu) and only
// the worker receives from.
type worker struct {
	p    *Pool
	id   int        // unique and increasing: the balancer's last tie-break
	wake chan *Task // a task to run, nil to stop, or recheck; capacity 2

	pos     int           // index in p.workers
	hidx    int           // index in the balancer's heap, or -1
	load    int           // tasks placed on the worker, running included
	cur     *Task         // the running task, or nil
	runs    uint64        // tasks run
	avg     time.Duration // moving average of run time
	recheck bool          // a recheck is on its way to wake
	local   taskHeap      // tasks prefetched onto this worker
	hpos    int           // index in p.holders, or -1
	timer   *time.Timer   // the idle timer, made on first use
}

// recheckTask on a worker's wake channel asks an idle worker to decide
// again whether to arm its idle timer. At most one is pending per worker,
// and a task or stop is sent only to a worker the sender took out of the
// idle set, so a wake channel never holds more than two values and the
// sender never blocks.
var recheckTask = new(Task)

// loop runs t, then whatever the pool gives the worker, until it is told
// to stop.
func (w *worker) loop(t *Task) {
	defer w.p.wg.Done()
	for {
		if t == nil {
			if t = w.idle(); t == nil {
				return
			}
		}
		var exit bool
		if t, exit = w.run(t); exit {
			return
		}
	}
}

// run runs one task and returns what the worker does next. When the task
// calls runtime.Goexit the goroutine cannot be kept: the deferred call ends
// the task and hands the worker on to a new goroutine, so the pool keeps its
// size and Shutdown still finds every worker.
func (w *worker) run(t *Task) (next *Task, exit bool) {
	p := w.p
	p.health.started(t)
	goexit := true
	defer func() {
		if !goexit {
			return
		}
		next, exit := p.finish(w, t, ErrGoexit, true)
		if !exit {
			p.wg.Add(1)
			go w.loop(next)
		}
	}()
	err, panicked := call(t)
	goexit = false
	return p.finish(w, t, err, panicked)
}

// call runs t's function and turns a panic into a *PanicError.
func call(t *Task) (err error, panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
			panicked = true
		}
	}()
	return t.fn(&t.rc), false
}

// idle waits for a task. It returns nil when the worker is to stop: told so
// by the pool, or retired by its idle timer.
func (w *worker) idle() *Task {
	p := w.p
	for {
		p.mu.Lock()
		w.recheck = false
		arm := p.canRetireLocked() && w.idleLocked()
		p.mu.Unlock()

		var expired <-chan time.Time
		if arm {
			if w.timer == nil {
				w.timer = time.NewTimer(p.cfg.idleTimeout)
			} else {
				w.timer.Reset(p.cfg.idleTimeout)
			}
			expired = w.timer.C
		}
		select {
		case t := <-w.wake:
			if arm {
				w.timer.Stop()
			}
			if t != recheckTask {
				return t
			}
		case <-expired:
			if w.retire() {
				return nil
			}
		}
	}
}

// idleLocked reports whether w has no task. Being a balancer candidate is
// not enough: with prefetch, a worker holding a task can still be one.
func (w *worker) idleLocked() bool { return w.hidx >= 0 && w.load == 0 }

// retire stops an idle worker whose timer fired, unless a task reached it
// first or the pool may not shrink any more.
func (w *worker) retire() bool {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickLocked(p.now())
	if !w.idleLocked() || !p.canRetireLocked() {
		return false
	}
	p.removeWorkerLocked(w)
	return true
}

// SetNumWorkers clamps n to the pool's [min, max], takes sizing from the
// scaler and returns the size set. From then on the pool runs exactly that
// many workers: it starts missing ones at once, admitting blocked Submits,
// and stops extra ones, idle ones at once and busy ones when their task
// ends. There is no growth on backlog and no idle retirement until the next
// SetNumWorkers or [Pool.ResumeScaling]. This is the hook for an external
// controller. After Shutdown began it changes nothing.
func (p *Pool) SetNumWorkers(n int) int {
	n = min(max(n, p.cfg.min), p.cfg.max)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickLocked(p.now())
	if p.state != stateOpen {
		return n
	}
	p.pinned, p.target = true, n
	p.resizeLocked()
	return n
}

// ResumeScaling hands sizing back to the scaler after SetNumWorkers: the
// pool grows again while work waits and no worker is idle, and workers
// above the minimum retire after the idle timeout. It does nothing when the
// scaler already owns the size.
func (p *Pool) ResumeScaling() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickLocked(p.now())
	if !p.pinned || p.state != stateOpen {
		return
	}
	p.pinned = false
	p.resizeLocked()
	for _, w := range p.bal.h {
		if w.load == 0 && !w.recheck {
			w.recheck = true
			w.wake <- recheckTask
		}
	}
}

// resizeLocked moves the number of workers towards the limit: it stops idle
// workers above it, and starts workers below it (when pinned, up to the
// target; otherwise only while tasks wait). Busy workers above the limit
// stop when their task ends.
func (p *Pool) resizeLocked() {
	limit := p.limitLocked()
	p.stopIdleLocked(limit)
	p.growLocked(limit)
	for p.pinned && len(p.workers) < limit {
		p.spawnLocked(nil)
	}
	p.admitLocked()
}

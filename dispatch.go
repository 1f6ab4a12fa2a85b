package workerpool

import (
	"context"
	"time"
)

// This file moves tasks between the queue, the workers' local queues and the
// workers. Every function here runs with p.mu held, except finish, which
// takes it.

// limitLocked is the number of workers the pool may run now.
func (p *Pool) limitLocked() int {
	if p.pinned {
		return p.target
	}
	return p.cfg.max
}

// oldestSubmitLocked returns when the oldest waiting task was submitted, in
// nanoseconds since the pool's start; 0 when none waits.
func (p *Pool) oldestSubmitLocked() int64 {
	if p.oldest == nil {
		return 0
	}
	return p.oldest.submit
}

// queuedLocked is the number of accepted tasks waiting to start, in the
// shared queue or prefetched onto a worker.
func (p *Pool) queuedLocked() int { return p.queue.len() + p.local }

// idleLocked returns the best idle worker, or nil.
func (p *Pool) idleLocked() *worker {
	if w, err := p.bal.pick(); err == nil && w.load == 0 {
		return w
	}
	return nil
}

// hasRoomLocked reports whether a new task would be accepted now: an idle
// worker takes it, a new worker may start for it, or the queue has room.
func (p *Pool) hasRoomLocked() bool {
	return p.idleLocked() != nil || len(p.workers) < p.limitLocked() ||
		p.queuedLocked() < p.cfg.queue
}

// acceptLocked accepts t and places it: on an idle worker, on a new worker
// (the scaler grows whenever a task would wait and no worker is idle), on a
// busy worker's local queue when prefetch is on, or in the shared queue. The
// caller has checked hasRoomLocked.
func (p *Pool) acceptLocked(t *Task) {
	p.count.submitted++
	p.health.accepted(t.submit)
	if t.ctx.Done() != nil {
		// One watch covers the task's whole life: queued, it leaves the
		// queue; running, its context is cancelled. endLocked stops it.
		t.stop = context.AfterFunc(t.ctx, func() { p.ctxDone(t) })
	}
	if w := p.idleLocked(); w != nil {
		p.bal.setLoad(w, 1)
		p.assignLocked(w, t)
		w.wake <- t
		return
	}
	if len(p.workers) < p.limitLocked() {
		p.spawnLocked(t)
		return
	}
	t.state = stateQueued
	p.byLevel[t.prio.level()]++
	t.older = p.newest
	if p.newest != nil {
		p.newest.newer = t
	} else {
		p.oldest = t
	}
	p.newest = t
	if w, err := p.bal.pick(); err == nil {
		t.owner = w
		w.local.push(t)
		p.local++
		if len(w.local) == 1 {
			w.hpos = len(p.holders)
			p.holders = append(p.holders, w)
		}
		p.bal.setLoad(w, w.load+1)
	} else {
		p.queue.push(t)
	}
}

// unqueueLocked takes a waiting task out of whichever queue holds it.
func (p *Pool) unqueueLocked(t *Task) {
	if w := t.owner; w != nil {
		w.local.remove(t.index)
		t.owner = nil
		p.local--
		if len(w.local) == 0 {
			p.dropHolderLocked(w)
		}
		p.bal.setLoad(w, w.load-1)
	} else {
		p.queue.remove(t)
	}
	p.byLevel[t.prio.level()]--
	if t.older != nil {
		t.older.newer = t.newer
	} else {
		p.oldest = t.newer
	}
	if t.newer != nil {
		t.newer.older = t.older
	} else {
		p.newest = t.older
	}
	t.older, t.newer = nil, nil
}

func (p *Pool) dropHolderLocked(w *worker) {
	last := len(p.holders) - 1
	p.holders[w.hpos] = p.holders[last]
	p.holders[w.hpos].hpos = w.hpos
	p.holders[last] = nil
	p.holders = p.holders[:last]
	w.hpos = -1
}

// ctxDone acts on the end of t's Submit ctx: a waiting task ends at once
// and never runs, a running one sees its context cancelled.
func (p *Pool) ctxDone(t *Task) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickLocked(p.now())
	switch t.state {
	case stateQueued:
		p.unqueueLocked(t)
		p.endLocked(t, OutcomeCanceled, t.ctx.Err())
		p.admitLocked()
	case stateRunning:
		code := errCanceled
		if t.ctx.Err() == context.DeadlineExceeded {
			code = errDeadline
		}
		t.rc.cancel(code, causeParent)
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

// takeLocked takes the next task for w (nil for a worker not started yet):
// the better of the head of w's local queue and the head of the shared
// queue, or else a task stolen from the worker with the most prefetched
// tasks, so that no task waits while a worker is idle. It skips and ends
// tasks whose Submit ctx has ended, and returns nil when nothing waits.
func (p *Pool) takeLocked(w *worker) *Task {
	for {
		var t *Task
		switch {
		case w != nil && len(w.local) > 0 &&
			(p.queue.len() == 0 || w.local[0].key.before(&p.queue.peek().key)):
			t = w.local[0]
		case p.queue.len() > 0:
			t = p.queue.peek()
		default:
			v := p.victimLocked()
			if v == nil {
				return nil
			}
			t = v.local[0]
		}
		p.unqueueLocked(t)
		if err := t.ctx.Err(); err != nil {
			p.endLocked(t, OutcomeCanceled, err)
			continue
		}
		if w != nil {
			// The room t leaves may admit a blocked Submit. For a worker
			// not started yet, the caller admits once the worker counts,
			// or the admitted task could get a worker of its own.
			p.admitLocked()
		}
		return t
	}
}

// victimLocked returns the worker with the most prefetched tasks, the lowest
// id among equals, or nil. It scans only the workers that hold some, and
// runs only when a worker has found the shared queue empty.
func (p *Pool) victimLocked() *worker {
	var v *worker
	for _, h := range p.holders {
		if v == nil || len(h.local) > len(v.local) ||
			len(h.local) == len(v.local) && h.id < v.id {
			v = h
		}
	}
	return v
}

// assignLocked gives t to w, whose load already counts it, and builds the
// context t runs with. The context is made here, under p.mu, so that
// Task.Cancel and a forced Shutdown always find it.
func (p *Pool) assignLocked(w *worker, t *Task) {
	t.started = p.clock
	p.accountLocked(p.clock)
	t.state = stateRunning
	t.outcome.Store(int32(OutcomeRunning))
	w.cur = t
	p.busy++
	t.rc.start(t)
}

// tickLocked advances p.clock, the time of the operation holding p.mu, to
// now. Operations take the time once, before they lock where they can, and
// everything they do under the lock uses it: reading the clock costs tens of
// nanoseconds, and every nanosecond under the lock is paid by all waiting.
func (p *Pool) tickLocked(now int64) { p.clock = max(p.clock, now) }

// accountLocked brings the integrals of busy and live workers over time up
// to now; it runs before either count changes.
func (p *Pool) accountLocked(now int64) {
	if d := now - p.lastAt; d > 0 {
		p.busyNS += int64(p.busy) * d
		p.liveNS += int64(len(p.workers)) * d
		p.lastAt = now
	}
}

// endLocked records t's outcome and resolves its handle. Stats counts the
// outcome before Done is closed.
func (p *Pool) endLocked(t *Task, oc Outcome, err error) {
	t.state = stateDone
	if t.stop != nil {
		t.stop()
		t.stop = nil
	}
	t.err = err
	t.fn = nil // the task's run context still reads ctx after the end
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
	if t.done != nil {
		close(t.done)
	}
}

// cancelTask ends a waiting task at once, or cancels a running task's
// context, recording why.
func (p *Pool) cancelTask(t *Task, why cause) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickLocked(p.now())
	switch t.state {
	case stateQueued:
		p.unqueueLocked(t)
		p.endLocked(t, OutcomeCanceled, context.Canceled)
		p.admitLocked()
	case stateRunning:
		t.rc.cancel(errCanceled, why)
	}
}

// finish records the end of t on w and returns w's next task, or nil with
// exit false when w should wait idle, or exit true when w should stop.
func (p *Pool) finish(w *worker, t *Task, err error, panicked bool) (next *Task, exit bool) {
	end := p.now()
	oc := classify(t, err, panicked)
	t.rc.cancel(errCanceled, causeReturned)
	p.health.ran(end, t, oc, end-t.started)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.tickLocked(end)
	p.accountLocked(p.clock)
	p.busy--
	w.cur = nil
	w.observe(time.Duration(end - t.started))
	p.bal.fix(w)
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
	if why := t.rc.why(); why == causeNone || why == causeTimeout {
		return OutcomeFailed
	}
	return OutcomeCanceled
}

// nextLocked decides what w does after a task: run the next one, wait idle,
// or stop. Until it decides, w's load still counts the task that ended, so
// that admitting a blocked Submit meanwhile cannot hand w a second task;
// the next task takes that slot over.
func (p *Pool) nextLocked(w *worker) (*Task, bool) {
	if p.state == stateOpen && len(p.workers) > p.limitLocked() {
		p.retireLocked(w)
		return nil, true
	}
	if t := p.takeLocked(w); t != nil {
		p.assignLocked(w, t)
		return t, false
	}
	if p.state != stateOpen || p.retireNowLocked() {
		p.retireLocked(w)
		return nil, true
	}
	p.bal.setLoad(w, w.load-1)
	p.admitLocked() // w is idle: a blocked Submit may fit
	return nil, false
}

// retireLocked removes a worker that will stop once it returns; its
// prefetched tasks, if any, go back to the shared queue.
func (p *Pool) retireLocked(w *worker) {
	for len(w.local) > 0 {
		t := w.local.pop()
		t.owner = nil
		p.local--
		p.queue.push(t)
	}
	if w.hpos >= 0 {
		p.dropHolderLocked(w)
	}
	p.removeWorkerLocked(w)
}

// retireNowLocked reports whether a worker that found no work retires at
// once, with no idle wait. Not while a Submit is blocked: the worker going
// idle is what makes room for it.
func (p *Pool) retireNowLocked() bool {
	return !p.pinned && p.cfg.idleTimeout == 0 && len(p.workers) > p.cfg.min &&
		len(p.blocked) == 0
}

// canRetireLocked reports whether an idle worker may retire on its timer.
func (p *Pool) canRetireLocked() bool {
	return p.state == stateOpen && !p.pinned && len(p.workers) > p.cfg.min
}

// spawnLocked starts a worker, running t first when t is not nil.
func (p *Pool) spawnLocked(t *Task) {
	p.accountLocked(p.clock)
	p.nextID++
	w := &worker{p: p, id: p.nextID, pos: len(p.workers), hpos: -1, wake: make(chan *Task, 2)}
	p.workers = append(p.workers, w)
	p.bal.register(w)
	if t != nil {
		p.bal.setLoad(w, 1)
		p.assignLocked(w, t)
	}
	p.wg.Add(1)
	go w.loop(t)
}

// growLocked starts workers while tasks wait, up to limit, each with the
// task it runs first, then admits blocked Submits into the room left.
func (p *Pool) growLocked(limit int) {
	for len(p.workers) < limit && p.queuedLocked() > 0 {
		t := p.takeLocked(nil)
		if t == nil {
			break
		}
		p.spawnLocked(t)
	}
	p.admitLocked()
}

// stopIdleLocked stops idle workers, the last placed first, until n
// workers are left or no worker is idle.
func (p *Pool) stopIdleLocked(n int) {
	for len(p.workers) > n {
		w := p.bal.last()
		if w == nil || w.load != 0 {
			w = p.scanIdleLocked()
		}
		if w == nil {
			return
		}
		p.removeWorkerLocked(w)
		w.wake <- nil
	}
}

// scanIdleLocked finds an idle worker among candidates that are not all
// idle, which happens only with prefetch on.
func (p *Pool) scanIdleLocked() *worker {
	for _, w := range p.bal.h {
		if w.load == 0 {
			return w
		}
	}
	return nil
}

// removeWorkerLocked forgets w; the caller makes sure its goroutine stops.
func (p *Pool) removeWorkerLocked(w *worker) {
	p.accountLocked(p.clock)
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

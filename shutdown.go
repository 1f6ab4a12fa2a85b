package workerpool

import "context"

// Shutdown stops the pool. It refuses new tasks at once (blocked Submits
// return [ErrClosed]) and lets every waiting and running task run to its
// end, then waits until every worker has exited.
//
// If ctx ends first, Shutdown gives up on the work: it cancels the running
// tasks' contexts, ends every waiting task as dropped with [ErrDropped], and
// returns ctx.Err() without waiting further. A task that ignores its context
// keeps its worker until it returns; that worker then exits.
//
// Every call, first or later, waits the same way, so Shutdown is safe to call
// from many goroutines. When it returns nil, every goroutine of the pool has
// exited and NumWorkers reports 0. Called from inside a task with the task's
// context, Shutdown does not wait for that task (it could not end while its
// function waits), only for the others.
func (p *Pool) Shutdown(ctx context.Context) error {
	inside := ctx.Value(poolKey{}) == p
	p.mu.Lock()
	p.tickLocked(p.now())
	p.closeLocked()
	if inside {
		p.selfWait++
		p.notifyLocked()
	}
	for len(p.workers) > p.selfWait {
		if p.changed == nil {
			p.changed = make(chan struct{})
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
			p.mu.Lock()
		case <-ctx.Done():
			p.mu.Lock()
			p.tickLocked(p.now())
			p.forceLocked()
			if inside {
				p.selfWait--
				p.notifyLocked()
			}
			p.mu.Unlock()
			return ctx.Err()
		}
	}
	if inside {
		p.selfWait--
		p.notifyLocked()
	}
	p.mu.Unlock()
	if !inside {
		// The workers have left the pool; wait for their goroutines to
		// return, which they do without blocking.
		p.wg.Wait()
	}
	return nil
}

// closeLocked begins the shutdown once: it refuses the blocked Submits,
// stops the idle workers, and makes sure waiting tasks have workers.
func (p *Pool) closeLocked() {
	if p.state != stateOpen {
		return
	}
	p.state = stateClosing
	for len(p.blocked) > 0 {
		t := p.blocked.pop()
		t.state = stateRejected
		close(t.admitted)
	}
	// A pool pinned below its backlog, even at zero workers, still drains.
	p.pinned = false
	p.growLocked(p.cfg.max)
	p.stopIdleLocked(0)
}

// forceLocked gives up on the work: waiting tasks are dropped, running
// tasks' contexts cancelled.
func (p *Pool) forceLocked() {
	p.state = stateForced
	for _, w := range p.workers {
		for len(w.local) > 0 {
			t := w.local[0]
			p.unqueueLocked(t)
			p.endLocked(t, OutcomeDropped, ErrDropped)
		}
	}
	for p.queue.len() > 0 {
		t := p.queue.peek()
		p.unqueueLocked(t)
		p.endLocked(t, OutcomeDropped, ErrDropped)
	}
	for _, w := range p.workers {
		if w.cur != nil {
			w.cur.rc.cancel(errCanceled, causeShutdown)
		}
	}
}

package workerpool

import (
	"context"
	"sync"
	"time"
)

// runCtx is the context a task's function receives. It lives inside the
// Task, so that running a task allocates nothing when the Submit ctx can
// never be cancelled and the task has no timeout: the common case of
// context.Background() costs no context.WithCancel. Its parent, deadline and
// pool are read from the Task, which keeps the handle small.
//
// It is cancelled, once, by the first of: its parent (the Submit ctx)
// ending, its WithTimeout timer, Task.Cancel, a forced Shutdown, and fn
// returning. It records which, for classify; context.Cause on it returns
// Err, since the context package keeps causes only for its own types.
//
// It implements AfterFunc, so that contexts a task derives from it (a
// context.WithTimeout inside the task, say) register a callback instead of
// starting a goroutine to watch Done.
type runCtx struct {
	t *Task

	mu     sync.Mutex
	done   chan struct{} // made on first use
	err    errCode       // set once, by cancel
	cause  cause
	afters *afterFunc  // callbacks, newest first
	timer  *time.Timer // the WithTimeout timer, or nil
}

// errCode is what Err returns, kept in a byte.
type errCode uint8

const (
	errNone errCode = iota
	errCanceled
	errDeadline
)

// cause is why a run context ended, kept in a byte.
type cause uint8

const (
	causeNone     cause = iota
	causeReturned       // fn returned
	causeTimeout        // the task's own WithTimeout
	causeCancel         // Task.Cancel
	causeShutdown       // a forced Shutdown
	causeParent         // the Submit ctx ended
)

type afterFunc struct {
	f    func()
	next *afterFunc
}

// closedChan is the Done channel of a runCtx cancelled before anyone asked.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// start readies c for t, about to run. It is called under p.mu; the
// callbacks it arranges may fire at once, and take c.mu, so they wait for it.
func (c *runCtx) start(t *Task) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
	if t.timeout > 0 {
		c.timer = time.AfterFunc(t.timeout, func() { c.cancel(errDeadline, causeTimeout) })
	}
	// The Submit ctx is watched by the pool from acceptance on (ctxDone).
}

// cancel ends c; later calls do nothing.
func (c *runCtx) cancel(err errCode, why cause) {
	c.mu.Lock()
	if c.err != errNone {
		c.mu.Unlock()
		return
	}
	c.err, c.cause = err, why
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	afters, timer := c.afters, c.timer
	c.afters = nil
	c.mu.Unlock()

	if timer != nil {
		timer.Stop()
	}
	for a := afters; a != nil; a = a.next {
		go a.f()
	}
}

// Deadline returns the earlier of the parent's deadline and the task's
// timeout.
func (c *runCtx) Deadline() (time.Time, bool) {
	t := c.t
	d, ok := t.ctx.Deadline()
	if t.timeout > 0 {
		own := t.p.start.Add(time.Duration(t.started) + t.timeout)
		if !ok || own.Before(d) {
			d, ok = own, true
		}
	}
	return d, ok
}

// Done returns a channel closed when c is cancelled.
func (c *runCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
	}
	return c.done
}

// Err returns nil until c is cancelled, then context.Canceled, or
// context.DeadlineExceeded for a deadline.
func (c *runCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.err {
	case errCanceled:
		return context.Canceled
	case errDeadline:
		return context.DeadlineExceeded
	}
	return nil
}

// Value answers poolKey with the pool, so Submit and Shutdown can tell a
// call from inside a task, and asks the parent for anything else.
func (c *runCtx) Value(key any) any {
	if _, ok := key.(poolKey); ok {
		return c.t.p
	}
	return c.t.ctx.Value(key)
}

// AfterFunc arranges for f to run in its own goroutine once c is cancelled,
// as context.AfterFunc does; the context package uses it for the contexts
// derived from c.
func (c *runCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != errNone {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	a.next = c.afters
	c.afters = a
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for p := &c.afters; *p != nil; p = &(*p).next {
			if *p == a {
				*p = a.next
				return true
			}
		}
		return false
	}
}

// why returns why c was cancelled, or causeNone.
func (c *runCtx) why() cause {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

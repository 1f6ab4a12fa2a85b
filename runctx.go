package workerpool

import (
	"context"
	"sync"
	"time"
)

// runCtx is the context a task's function receives. It lives inside the
// Task, so that running a task allocates nothing when the Submit ctx can
// never be cancelled and the task has no timeout: the common case of
// context.Background() costs no context.WithCancel.
//
// It is cancelled, once, by the first of: its parent (the Submit ctx)
// ending, its WithTimeout timer, Task.Cancel, a forced Shutdown, and fn
// returning. It keeps the cause itself, for classify; context.Cause on it
// returns Err, since the context package keeps causes only for its own types.
//
// It implements AfterFunc, so that contexts a task derives from it (a
// context.WithTimeout inside the task, say) register a callback instead of
// starting a goroutine to watch Done.
type runCtx struct {
	parent   context.Context
	p        *Pool
	deadline time.Time // zero when neither the parent nor a timeout sets one

	mu     sync.Mutex
	done   chan struct{} // made on first use
	err    error         // set once, by cancel
	cause  error
	afters []*afterFunc
	stop   func() bool // stops the parent watch, or nil
	timer  *time.Timer // the WithTimeout timer, or nil
}

type afterFunc struct{ f func() }

// closedChan is the Done channel of a runCtx cancelled before anyone asked.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// start readies c for a task about to run with timeout (0 for none). It is
// called under p.mu, before any other goroutine can see c.
func (c *runCtx) start(parent context.Context, p *Pool, timeout time.Duration) {
	c.parent, c.p = parent, p
	c.deadline, _ = parent.Deadline()
	if timeout > 0 {
		if d := time.Now().Add(timeout); c.deadline.IsZero() || d.Before(c.deadline) {
			c.deadline = d
		}
	}
	// The callbacks may fire before the assignments below; they take c.mu,
	// so they see the fields set or wait for them.
	c.mu.Lock()
	defer c.mu.Unlock()
	if timeout > 0 {
		c.timer = time.AfterFunc(timeout, func() {
			c.cancel(context.DeadlineExceeded, errTaskTimeout)
		})
	}
	if parent.Done() != nil {
		c.stop = context.AfterFunc(parent, func() {
			c.cancel(parent.Err(), context.Cause(parent))
		})
	}
}

// cancel ends c with err, keeping cause; later calls do nothing.
func (c *runCtx) cancel(err, cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err, c.cause = err, cause
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	stop, timer := c.stop, c.timer
	c.mu.Unlock()

	if stop != nil {
		stop()
	}
	if timer != nil {
		timer.Stop()
	}
	for _, a := range afters {
		go a.f()
	}
}

// Deadline returns the earlier of the parent's deadline and the task's
// timeout.
func (c *runCtx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

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
	return c.err
}

// Value answers poolKey with the pool, so Submit and Shutdown can tell a
// call from inside a task, and asks the parent for anything else.
func (c *runCtx) Value(key any) any {
	if _, ok := key.(poolKey); ok {
		return c.p
	}
	return c.parent.Value(key)
}

// AfterFunc arranges for f to run in its own goroutine once c is cancelled,
// as context.AfterFunc does; the context package uses it for the contexts
// derived from c.
func (c *runCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.afters = append(c.afters, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, b := range c.afters {
			if b == a {
				c.afters = append(c.afters[:i], c.afters[i+1:]...)
				return true
			}
		}
		return false
	}
}

// causeOf returns why c was cancelled, or nil if it was not.
func (c *runCtx) causeOf() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

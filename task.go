package workerpool

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Priority orders waiting tasks: a higher value starts first. Any int is
// valid; the named levels leave room for values between them.
type Priority int

// The named priority levels. PriorityNormal is the zero value and the default.
const (
	PriorityLow      Priority = -10
	PriorityNormal   Priority = 0
	PriorityHigh     Priority = 10
	PriorityCritical Priority = 20
)

// String returns the name of a named level, or the number otherwise.
func (pr Priority) String() string {
	switch pr {
	case PriorityLow:
		return "low"
	case PriorityNormal:
		return "normal"
	case PriorityHigh:
		return "high"
	case PriorityCritical:
		return "critical"
	}
	return fmt.Sprintf("%d", int(pr))
}

// level maps a priority to the index of the nearest named level at or below
// it (values below PriorityLow count as low): 0 low, 1 normal, 2 high,
// 3 critical.
func (pr Priority) level() int {
	switch {
	case pr >= PriorityCritical:
		return 3
	case pr >= PriorityHigh:
		return 2
	case pr >= PriorityNormal:
		return 1
	}
	return 0
}

// Outcome says where a task is in its life, and how it ended.
type Outcome int32

// The outcomes of a task. A task is pending until a worker starts it and
// running until its function returns; the other five are final.
const (
	OutcomePending Outcome = iota
	OutcomeRunning
	OutcomeSucceeded // fn returned nil
	OutcomeFailed    // fn returned an error, or its own timeout ended it
	OutcomePanicked  // fn panicked or called runtime.Goexit
	OutcomeCanceled  // the Submit ctx, Task.Cancel or a forced shutdown ended it
	OutcomeDropped   // still waiting when a forced shutdown ended
)

var outcomeNames = [...]string{
	"pending", "running", "succeeded", "failed", "panicked", "canceled", "dropped",
}

// String returns the outcome's name in lower case.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// Final reports whether o is one of the five outcomes a task ends in.
func (o Outcome) Final() bool { return o >= OutcomeSucceeded }

// A TaskOption configures one task at Submit.
type TaskOption func(*taskConfig)

// taskConfig is what the task options set; it is part of the Task, so that
// applying options allocates nothing.

type taskConfig struct {
	prio    Priority
	timeout time.Duration
	size    int64
}

// WithPriority sets the task's priority. Higher values start first; among
// equal priorities, the task submitted first starts first.
func WithPriority(pr Priority) TaskOption {
	return func(c *taskConfig) { c.prio = pr }
}

// WithTimeout bounds the task's run, from the moment it starts: its context
// is cancelled d after it starts. Waiting time is bounded by the Submit
// context instead. A task that returns an error after its own timeout counts
// as failed. A d of zero or less means no timeout.
func WithTimeout(d time.Duration) TaskOption {
	return func(c *taskConfig) { c.timeout = d }
}

// WithSize records the bytes the task processes; they are added to
// [Stats].BytesProcessed when the task succeeds. Negative sizes count as 0.
func WithSize(bytes int64) TaskOption {
	return func(c *taskConfig) { c.size = max(bytes, 0) }
}

// Errors returned by the pool. Compare with errors.Is.
var (
	// ErrClosed is returned by Submit and TrySubmit once Shutdown has begun.
	ErrClosed = errors.New("workerpool: pool is shut down")
	// ErrQueueFull is returned by TrySubmit, and by a Submit made from inside
	// a running task of the same pool, when the queue has no room.
	ErrQueueFull = errors.New("workerpool: queue is full")
	// ErrNilTask is returned when fn is nil.
	ErrNilTask = errors.New("workerpool: nil task function")
	// ErrDropped ends a task that was still waiting when a forced shutdown
	// (Shutdown whose ctx ended first) gave up on it.
	ErrDropped = errors.New("workerpool: task dropped by shutdown before it started")
	// ErrGoexit ends a task whose function called runtime.Goexit.
	ErrGoexit = errors.New("workerpool: task called runtime.Goexit")
)

// A PanicError is the error of a task whose function panicked. It carries
// the value passed to panic and the stack of the panicking goroutine.
type PanicError struct {
	Value any
	Stack []byte
}

// Error returns the panic value and the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("workerpool: task panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// A Task is the handle of one accepted task. Its methods are safe for
// concurrent use.
type Task struct {
	p *Pool
	// Set at Submit; fn is cleared when the task ends, so that what it
	// captures can be collected.
	fn  func(context.Context) error
	ctx context.Context
	taskConfig
	key    orderKey
	submit int64 // nanoseconds since the pool's start

	// Guarded by p.mu.
	index    int           // position in a taskHeap, or -1
	owner    *worker       // whose local queue holds it, or nil
	older    *Task         // neighbours in p's list of waiting tasks,
	newer    *Task         // in order of acceptance
	qprev    *Task         // neighbours in its level of the shared queue,
	qnext    *Task         // when aging is off
	state    taskState     // where the task is
	stop     func() bool   // stops the watch of the Submit ctx, queued or running
	admitted chan struct{} // closed when a blocked Submit is decided
	done     chan struct{} // made on first Done; closed at the end

	// Set when a worker takes the task, under p.mu; read by that worker.
	rc      runCtx // the context fn runs with
	started int64  // nanoseconds since the pool's start

	// err is written once, under p.mu, before outcome turns final; a reader
	// that loads a final outcome sees it.
	outcome atomic.Int32
	err     error
}

type taskState uint8

const (
	stateBlocked  taskState = iota // its Submit waits for room in the queue
	stateRejected                  // a blocked Submit that was refused
	stateQueued                    // waiting in the queue
	stateRunning                   // handed to a worker
	stateDone                      // ended
)

// Wait blocks until the task has ended or ctx ends, whichever comes first.
// It returns the task's error (nil when it succeeded), or ctx.Err() when ctx
// ended first; ctx only bounds the waiting and does not affect the task.
func (t *Task) Wait(ctx context.Context) error {
	if t.Outcome().Final() {
		return t.err
	}
	select {
	case <-t.Done():
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done returns a channel that is closed when the task has ended. By then its
// outcome is final and [Pool.Stats] counts it.
//
// The channel is made on the first call, so that a task nobody waits on
// costs no channel.
func (t *Task) Done() <-chan struct{} {
	if t.Outcome().Final() {
		return closedChan
	}
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	if t.Outcome().Final() { // it ended while we took the lock
		return closedChan
	}
	if t.done == nil {
		t.done = make(chan struct{})
	}
	return t.done
}

// Err returns the task's error once it has ended, and nil before.
func (t *Task) Err() error {
	if t.Outcome().Final() {
		return t.err
	}
	return nil
}

// Outcome reports where the task is: pending, running, or how it ended.
func (t *Task) Outcome() Outcome { return Outcome(t.outcome.Load()) }

// Priority returns the priority the task was submitted with.
func (t *Task) Priority() Priority { return t.prio }

// Cancel ends the task. A task still waiting never runs: it ends at once as
// canceled with [context.Canceled]. A running task sees its context
// cancelled; it ends when its function returns, as canceled if it returns an
// error. Cancel on an ended task does nothing.
func (t *Task) Cancel() { t.p.cancelTask(t, causeCancel) }

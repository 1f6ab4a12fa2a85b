// Package workerpool runs functions on a bounded, elastic set of worker
// goroutines, highest priority first, and accounts for every task it
// accepts.
//
// A service creates one [Pool] with [New], submits work from its handlers
// with [Pool.Submit] or [Pool.TrySubmit], watches it with [Pool.Stats] and
// [Pool.Health], and stops it with [Pool.Shutdown]:
//
//	p, err := workerpool.New(workerpool.WithMaxWorkers(8), workerpool.WithQueueSize(256))
//	if err != nil {
//		return err
//	}
//	defer p.Shutdown(context.Background())
//	task, err := p.Submit(r.Context(), func(ctx context.Context) error {
//		return render(ctx, req)
//	}, workerpool.WithPriority(workerpool.PriorityHigh))
//	if err != nil {
//		return err // ErrQueueFull, ErrClosed, or the request's ctx error
//	}
//	return task.Wait(r.Context())
//
// # Order
//
// Whenever a worker takes its next task it takes the highest-priority
// waiting task, and among equal priorities the one submitted first. Submits
// blocked on a full queue are admitted in the same order. [WithAging] lets
// old low-priority tasks catch up.
//
// # Outcomes
//
// Every accepted task ends exactly once, in one of the outcomes of
// [Outcome]: succeeded, failed, panicked, canceled or dropped. Its [Task]
// handle reports which, and [Stats] counts it before the handle resolves.
// A panic in a task is recovered into a [*PanicError] returned by
// [Task.Wait]; the pool never logs it and keeps its worker.
//
// # Contexts
//
// The context a task receives derives from the context given to Submit, so
// a request that goes away cancels its queued and running work. Work that
// must outlive the request is submitted with
// context.WithoutCancel(r.Context()).
//
// # Size
//
// The pool keeps between the minimum and maximum number of workers. It
// starts a worker whenever a task waits and no worker is idle, and a worker
// above the minimum retires after the idle timeout. [Pool.SetNumWorkers]
// hands the size to the caller until [Pool.ResumeScaling].
package workerpool

// BUG(workerpool): A task that ignores its context keeps its worker until it
// returns, even past a forced Shutdown; no Go code can stop a goroutine.

// BUG(workerpool): Shutdown knows it is called from inside a task only when
// it is given that task's context, or one derived from it.

// BUG(workerpool): One mutex orders every hand-off, which keeps priority
// exact and the counters consistent, and caps throughput on many cores.

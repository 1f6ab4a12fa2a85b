// Package benchmarks measures workerpool beside the popular Go worker pools
// (ants, pond, gammazero/workerpool, conc, errgroup) and two floors written
// here, on the same workloads and with the same completion signal.
//
// Each pool is reduced to a [Pool]: the workloads in this package never see a
// peer's own API, so every pool runs exactly the same code around it.
package benchmarks

import (
	"context"
	"sync"
	"time"

	"github.com/alitto/pond/v2"
	gammazero "github.com/gammazero/workerpool"
	"github.com/panjf2000/ants/v2"
	conc "github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"

	"github.com/example/workerpool"
)

// A Submit submits one task, prepared by [Pool.Submitter], to its pool. It
// blocks as the pool's own blocking submit does.
type Submit func() error

// A Pool is one pool under test, reduced to what the workloads need.
type Pool interface {
	// Submitter returns a Submit that submits body once per call. Any change of
	// shape (func() to func(context.Context) error, say) happens here, once,
	// so that no pool pays for an adapter per task.
	Submitter(body func()) Submit
	// Close releases the pool after the tasks submitted to it have finished,
	// and waits until its goroutines have exited.
	Close() error
}

// A PriorityPool is a Pool that can submit a task ahead of the others.
type PriorityPool interface {
	Pool
	// CriticalSubmitter is like Submitter, with the highest priority.
	CriticalSubmitter(body func()) Submit
}

// Config says how to build a pool.
type Config struct {
	// Workers is the number of workers (or the concurrency limit).
	Workers int
	// Queue is how many tasks the pool must hold waiting to start; 0 leaves
	// the pool's default. Pools whose queue has no bound ignore it.
	Queue int
}

// A Kind is one pool implementation, or one way of submitting to it.
type Kind struct {
	// Name is the pool's name in benchmark names and tables.
	Name string
	// New builds a pool.
	New func(Config) (Pool, error)
	// Queues reports whether a Submit returns without waiting for a worker
	// when the workers are busy (given Config.Queue). Pools that do not queue
	// hold waiting tasks as blocked submitters: one goroutine per task.
	Queues bool
	// Unbounded reports whether the pool ignores Config.Workers.
	Unbounded bool
	// Variant marks a second way of submitting to a pool that is already in
	// the list; it is measured only where that way makes a difference.
	Variant bool
}

// Kinds returns every pool under test, this library first.
func Kinds() []Kind {
	return []Kind{
		{Name: "workerpool", New: newOurs(false), Queues: true},
		{Name: "workerpool-ctx", New: newOurs(true), Queues: true, Variant: true},
		{Name: "ants", New: newAnts},
		{Name: "ants-func", New: newAntsFunc},
		{Name: "pond-submit", New: newPond(false), Queues: true},
		{Name: "pond-go", New: newPond(true), Queues: true},
		{Name: "gammazero", New: newGammazero, Queues: true},
		{Name: "conc", New: newConc},
		{Name: "errgroup", New: newErrgroup},
		{Name: "floor-chan", New: newChanFloor, Queues: true},
		{Name: "floor-goroutine", New: newGoroutineFloor, Queues: true, Unbounded: true},
	}
}

// ours adapts workerpool. Its Submit returns a *Task handle, which the
// workloads drop, as they drop pond's Task.
type ours struct {
	p      *workerpool.Pool
	ctx    context.Context
	cancel context.CancelFunc
}

// newOurs returns a constructor that submits with context.Background(), or,
// if cancellable is true, with one context.WithCancel shared by all tasks.
func newOurs(cancellable bool) func(Config) (Pool, error) {
	return func(c Config) (Pool, error) {
		opts := []workerpool.Option{workerpool.WithMaxWorkers(c.Workers)}
		if c.Queue > 0 {
			opts = append(opts, workerpool.WithQueueSize(c.Queue))
		}
		p, err := workerpool.New(opts...)
		if err != nil {
			return nil, err
		}
		o := &ours{p: p, ctx: context.Background(), cancel: func() {}}
		if cancellable {
			o.ctx, o.cancel = context.WithCancel(context.Background())
		}
		return o, nil
	}
}

func (o *ours) Submitter(body func()) Submit {
	fn := func(context.Context) error { body(); return nil }
	return func() error {
		_, err := o.p.Submit(o.ctx, fn)
		return err
	}
}

func (o *ours) CriticalSubmitter(body func()) Submit {
	fn := func(context.Context) error { body(); return nil }
	critical := workerpool.WithPriority(workerpool.PriorityCritical)
	return func() error {
		_, err := o.p.Submit(o.ctx, fn, critical)
		return err
	}
}

func (o *ours) Close() error {
	defer o.cancel()
	return o.p.Shutdown(context.Background())
}

// releaseTimeout bounds how long Close waits for ants' goroutines to exit.
const releaseTimeout = 10 * time.Second

// antsPool adapts ants.Pool: no queue, so a busy pool blocks the submitter.
type antsPool struct{ p *ants.Pool }

func newAnts(c Config) (Pool, error) {
	p, err := ants.NewPool(c.Workers)
	if err != nil {
		return nil, err
	}
	return antsPool{p}, nil
}

func (a antsPool) Submitter(body func()) Submit {
	return func() error { return a.p.Submit(body) }
}

func (a antsPool) Close() error { return a.p.ReleaseTimeout(releaseTimeout) }

// Waiting reports how many submitters are blocked.
func (a antsPool) Waiting() int { return a.p.Waiting() }

// antsFunc adapts ants.PoolWithFunc, whose one function runs the body passed
// as its argument (a func value converts to any without allocating).
type antsFunc struct{ p *ants.PoolWithFunc }

func newAntsFunc(c Config) (Pool, error) {
	p, err := ants.NewPoolWithFunc(c.Workers, func(arg any) { arg.(func())() })
	if err != nil {
		return nil, err
	}
	return antsFunc{p}, nil
}

func (a antsFunc) Submitter(body func()) Submit {
	return func() error { return a.p.Invoke(body) }
}

func (a antsFunc) Close() error { return a.p.ReleaseTimeout(releaseTimeout) }

// Waiting reports how many submitters are blocked.
func (a antsFunc) Waiting() int { return a.p.Waiting() }

// pondPool adapts pond v2 (its queue has no bound by default) through Submit,
// which returns a Task, or through Go, which returns only an error.
type pondPool struct {
	p     pond.Pool
	useGo bool
}

func newPond(useGo bool) func(Config) (Pool, error) {
	return func(c Config) (Pool, error) {
		return pondPool{p: pond.NewPool(c.Workers), useGo: useGo}, nil
	}
}

func (pp pondPool) Submitter(body func()) Submit {
	if pp.useGo {
		return func() error { return pp.p.Go(body) }
	}
	return func() error {
		pp.p.Submit(body)
		return nil
	}
}

func (pp pondPool) Close() error {
	pp.p.StopAndWait()
	return nil
}

// gzPool adapts gammazero/workerpool, whose queue has no bound.
type gzPool struct{ p *gammazero.WorkerPool }

func newGammazero(c Config) (Pool, error) { return gzPool{gammazero.New(c.Workers)}, nil }

func (g gzPool) Submitter(body func()) Submit {
	return func() error {
		g.p.Submit(body)
		return nil
	}
}

func (g gzPool) Close() error {
	g.p.StopWait()
	return nil
}

// concPool adapts sourcegraph/conc's pool: Go blocks while the limit is met.
type concPool struct{ p *conc.Pool }

func newConc(c Config) (Pool, error) {
	return concPool{conc.New().WithMaxGoroutines(c.Workers)}, nil
}

func (cp concPool) Submitter(body func()) Submit {
	return func() error {
		cp.p.Go(body)
		return nil
	}
}

func (cp concPool) Close() error {
	cp.p.Wait()
	return nil
}

// egPool adapts errgroup.Group with SetLimit: one goroutine per task, and Go
// blocks while the limit is met.
type egPool struct{ g *errgroup.Group }

func newErrgroup(c Config) (Pool, error) {
	g := new(errgroup.Group)
	g.SetLimit(c.Workers)
	return egPool{g}, nil
}

func (e egPool) Submitter(body func()) Submit {
	fn := func() error { body(); return nil }
	return func() error {
		e.g.Go(fn)
		return nil
	}
}

func (e egPool) Close() error { return e.g.Wait() }

// chanFloor is the first floor: a fixed set of goroutines reading a buffered
// channel of functions. The buffer holds Config.Queue functions, or 1024.
type chanFloor struct {
	ch chan func()
	wg sync.WaitGroup
}

func newChanFloor(c Config) (Pool, error) {
	q := c.Queue
	if q <= 0 {
		q = 1024
	}
	f := &chanFloor{ch: make(chan func(), q)}
	for range c.Workers {
		f.wg.Go(func() {
			for fn := range f.ch {
				fn()
			}
		})
	}
	return f, nil
}

func (f *chanFloor) Submitter(body func()) Submit {
	return func() error {
		f.ch <- body
		return nil
	}
}

func (f *chanFloor) Close() error {
	close(f.ch)
	f.wg.Wait()
	return nil
}

// goroutineFloor is the second floor: one goroutine per task. The workloads'
// WaitGroup already waits for every task, so Close has nothing to do.
type goroutineFloor struct{}

func newGoroutineFloor(Config) (Pool, error) { return goroutineFloor{}, nil }

func (goroutineFloor) Submitter(body func()) Submit {
	return func() error {
		go body()
		return nil
	}
}

func (goroutineFloor) Close() error { return nil }

package benchmarks

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Work returns a body that burns about d of CPU in an arithmetic loop (not a
// sleep). The loop is calibrated once per process; see [SpinRate].
func Work(d time.Duration) func() {
	n := max(1, int(float64(d.Nanoseconds())*SpinRate()))
	return func() { spin(n) }
}

// SpinRate returns how many iterations of the work loop run per nanosecond
// on this machine, measured once: the fastest of a few timed runs.
var SpinRate = sync.OnceValue(func() float64 {
	const n = 1 << 20
	best := time.Duration(1 << 62)
	for range 5 {
		start := time.Now()
		spin(n)
		best = min(best, time.Since(start))
	}
	return float64(n) / float64(max(best, 1))
})

// spin runs n rounds of xorshift. It is not inlined, so that the compiler
// cannot drop a call whose result is ignored.
//
//go:noinline
func spin(n int) uint64 {
	x := uint64(n) | 1
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// A Span is what a [Meter] measured.
type Span struct {
	// Wall is the elapsed time.
	Wall time.Duration
	// CPU is the user plus system time of the whole process, so that a pool
	// that spins cannot pass for a fast one.
	CPU time.Duration
	// GCCycles is the number of completed garbage collections.
	GCCycles uint32
	// Allocs and Bytes count heap allocations, by every goroutine.
	Allocs, Bytes uint64
}

// A Meter measures a [Span] from StartMeter to Stop.
type Meter struct {
	wall time.Time
	cpu  time.Duration
	mem  runtime.MemStats
}

// StartMeter starts measuring. Reading the memory statistics stops the world
// briefly, at the start and at the stop only.
func StartMeter() *Meter {
	m := new(Meter)
	runtime.ReadMemStats(&m.mem)
	m.cpu = cpuTime()
	m.wall = time.Now()
	return m
}

// Stop returns what was spent since StartMeter.
func (m *Meter) Stop() Span {
	wall := time.Since(m.wall)
	cpu := cpuTime() - m.cpu
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Span{
		Wall:     wall,
		CPU:      cpu,
		GCCycles: ms.NumGC - m.mem.NumGC,
		Allocs:   ms.Mallocs - m.mem.Mallocs,
		Bytes:    ms.TotalAlloc - m.mem.TotalAlloc,
	}
}

// cpuTime returns the process's user plus system time from getrusage.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Throughput (W1 and W2) submits tasks copies of body to p, split evenly
// among submitters goroutines, and returns when every task has finished.
// Each task ends with a WaitGroup's Done, the same for every pool.
func Throughput(p Pool, body func(), tasks, submitters int) error {
	var done sync.WaitGroup
	done.Add(tasks)
	submit := p.Submitter(func() {
		body()
		done.Done()
	})
	errs := make([]error, submitters)
	var users sync.WaitGroup
	for i := range submitters {
		n := tasks / submitters
		if i < tasks%submitters {
			n++
		}
		users.Go(func() {
			for j := range n {
				if err := submit(); err != nil {
					done.Add(j - n)
					errs[i] = err
					return
				}
			}
		})
	}
	users.Wait()
	done.Wait()
	return errors.Join(errs...)
}

// PriorityConfig sizes a [PriorityUnderBacklog] run.
type PriorityConfig struct {
	// Backlog is how many normal tasks are kept waiting.
	Backlog int
	// Work is the CPU time of every task, normal or critical.
	Work time.Duration
	// Every is the time between two critical tasks.
	Every time.Duration
	// Samples is the number of critical tasks.
	Samples int
}

// PriorityResult is what [PriorityUnderBacklog] measured.
type PriorityResult struct {
	// Delays holds each critical task's start delay: from just before its
	// submit to the first line of its body.
	Delays []time.Duration
	// Span covers the critical arrivals and the drain of the backlog.
	Span Span
}

// PriorityUnderBacklog (W3) fills p with c.Backlog normal tasks, then submits
// a critical task every c.Every, topping the backlog up before each, so that
// every critical task arrives behind c.Backlog waiting tasks. A [PriorityPool]
// submits the critical tasks with its highest priority; the other pools just
// submit them. Pools that do not queue get one goroutine per submit.
func PriorityUnderBacklog(k Kind, p Pool, c PriorityConfig) (PriorityResult, error) {
	work := Work(c.Work)
	var (
		done      sync.WaitGroup
		started   atomic.Int64
		submitted int64
		failed    atomic.Pointer[error]
	)
	submit := func(s Submit) {
		done.Add(1)
		run := func() {
			if err := s(); err != nil {
				failed.CompareAndSwap(nil, &err)
				done.Done()
			}
		}
		if k.Queues {
			run()
			return
		}
		go run()
	}
	normal := p.Submitter(func() {
		started.Add(1)
		work()
		done.Done()
	})
	critical := p.Submitter
	if pp, ok := p.(PriorityPool); ok {
		critical = pp.CriticalSubmitter
	}
	topUp := func() {
		for n := int64(c.Backlog) - (submitted - started.Load()); n > 0; n-- {
			submit(normal)
			submitted++
		}
	}

	delays := make([]time.Duration, c.Samples)
	topUp()
	meter := StartMeter()
	next := time.Now()
	for i := range delays {
		next = next.Add(c.Every)
		// Spin rather than sleep: a timer of 200 µs fires after about a
		// millisecond on some machines (1.1 ms measured on the 2-vCPU VM
		// these benchmarks were first run on), and the loop then catches
		// up by sending critical tasks in bursts, each waiting behind the
		// ones before it. The submitter has a processor of its own (the
		// pool gets GOMAXPROCS-1 workers), so spinning steals nothing.
		for time.Now().Before(next) {
		}
		topUp()
		t0 := time.Now()
		submit(critical(func() {
			delays[i] = time.Since(t0)
			work()
			done.Done()
		}))
	}
	done.Wait()
	res := PriorityResult{Delays: delays, Span: meter.Stop()}
	if err := failed.Load(); err != nil {
		return res, *err
	}
	return res, nil
}

// WaitingResult is what [WaitingMemory] measured.
type WaitingResult struct {
	// BytesPerTask is the growth of heap objects plus goroutine stacks, per
	// waiting task, over a baseline taken before the pool was built.
	BytesPerTask float64
	// Completed counts the waiting tasks that ran once released.
	Completed int64
}

// WaitingMemory (W4) builds a pool from k and c, blocks all c.Workers workers
// on a channel, submits tasks tasks behind them and measures, after a GC,
// the memory that holds the waiting tasks. Pools that do not queue hold
// each waiting task as a blocked submitter goroutine. Then it releases the
// workers, waits for every task and closes the pool.
func WaitingMemory(k Kind, c Config, tasks int) (WaitingResult, error) {
	runtime.GC()
	base := heapAndStacks()
	p, err := k.New(c)
	if err != nil {
		return WaitingResult{}, err
	}

	var busy, done sync.WaitGroup
	var completed atomic.Int64
	var failed atomic.Pointer[error]
	gate := make(chan struct{})
	block := p.Submitter(func() {
		busy.Done()
		<-gate
		done.Done()
	})
	busy.Add(c.Workers)
	done.Add(c.Workers + tasks)
	for range c.Workers {
		if err := block(); err != nil {
			close(gate)
			return WaitingResult{}, errors.Join(err, p.Close())
		}
	}
	busy.Wait()

	submit := p.Submitter(func() {
		completed.Add(1)
		done.Done()
	})
	run := func() {
		if err := submit(); err != nil {
			failed.CompareAndSwap(nil, &err)
			done.Done()
		}
	}
	if k.Queues {
		for range tasks {
			run()
		}
	} else {
		var ready sync.WaitGroup
		ready.Add(tasks)
		for range tasks {
			go func() {
				ready.Done()
				run()
			}()
		}
		ready.Wait()
		if w, ok := p.(interface{ Waiting() int }); ok {
			for w.Waiting() < tasks && failed.Load() == nil {
				runtime.Gosched()
			}
		}
	}
	runtime.GC()
	used := heapAndStacks() - base

	close(gate)
	done.Wait()
	res := WaitingResult{BytesPerTask: float64(used) / float64(tasks), Completed: completed.Load()}
	err = p.Close()
	if e := failed.Load(); e != nil {
		err = errors.Join(*e, err)
	}
	return res, err
}

// heapAndStacks returns the bytes of heap objects plus the heap memory
// reserved for goroutine stacks, from runtime/metrics.
func heapAndStacks() int64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(s)
	var total int64
	for _, v := range s {
		if v.Value.Kind() == metrics.KindUint64 {
			total += int64(v.Value.Uint64())
		}
	}
	return total
}

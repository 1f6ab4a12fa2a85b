package workerpool

import (
	"errors"
	"time"
)

// Errors of the balancer. The pool never lets them reach a caller: it asks
// the balancer only when it has a task to place, and keeps the task queued
// when no worker can take it.
var (
	errNoWorkers = errors.New("workerpool: balancer has no workers")
	errAllFull   = errors.New("workerpool: every worker is at its depth")
)

// A balancer decides which worker takes the next task. It places a task on
// the least-loaded worker (running plus locally queued tasks); ties go to the
// lowest moving average of run time, then to the lowest worker id, so that
// placement is deterministic. A worker whose load has reached depth is never
// chosen.
//
// The candidates (workers below depth) sit in a binary min-heap, so picking
// is O(1) and every load or average change is O(log n) in the number of
// workers; a pool may have 100,000 of them, and a scan would show in every
// dispatch. A balancer is not safe for concurrent use: the pool calls it with
// its mutex held.
type balancer struct {
	depth int       // the most tasks a worker holds, running included; >= 1
	n     int       // workers registered, candidates or not
	h     []*worker // candidates, best first
	moves uint64    // swaps made, so tests can check the cost of placement
}

// ewmaShift sets the weight of a new run time in a worker's average: 1/8.
const ewmaShift = 3

// observe folds one run time into a worker's moving average. The caller
// must call fix afterwards if the worker is a candidate.
func (w *worker) observe(d time.Duration) {
	w.runs++
	if w.runs == 1 {
		w.avg = d
		return
	}
	w.avg += (d - w.avg) >> ewmaShift
}

// better reports whether a should take a task before b.
func better(a, b *worker) bool {
	if a.load != b.load {
		return a.load < b.load
	}
	if a.avg != b.avg {
		return a.avg < b.avg
	}
	return a.id < b.id
}

// register adds a worker with no load.
func (b *balancer) register(w *worker) {
	b.n++
	w.load = 0
	w.hidx = -1
	b.push(w)
}

// unregister removes a worker, candidate or not.
func (b *balancer) unregister(w *worker) {
	b.n--
	if w.hidx >= 0 {
		b.remove(w.hidx)
	}
}

// pick returns the worker that should take the next task, without changing
// its load. It fails when there are no workers, or when all are full.
func (b *balancer) pick() (*worker, error) {
	if len(b.h) > 0 {
		return b.h[0], nil
	}
	if b.n == 0 {
		return nil, errNoWorkers
	}
	return nil, errAllFull
}

// setLoad changes a worker's load and keeps the candidate heap in order.
func (b *balancer) setLoad(w *worker, load int) {
	w.load = load
	b.fix(w)
}

// fix restores the heap after a worker's load or average changed.
func (b *balancer) fix(w *worker) {
	switch in := w.hidx >= 0; {
	case in && w.load >= b.depth:
		b.remove(w.hidx)
	case in:
		if !b.down(w.hidx) {
			b.up(w.hidx)
		}
	case w.load < b.depth:
		b.push(w)
	}
}

// last returns a candidate that is cheap to remove, or nil: the pool uses it
// to retire idle workers when it shrinks.
func (b *balancer) last() *worker {
	if len(b.h) == 0 {
		return nil
	}
	return b.h[len(b.h)-1]
}

func (b *balancer) push(w *worker) {
	w.hidx = len(b.h)
	b.h = append(b.h, w)
	b.up(w.hidx)
}

func (b *balancer) remove(i int) {
	n := len(b.h) - 1
	w := b.h[i]
	if i != n {
		b.swap(i, n)
	}
	b.h[n] = nil
	b.h = b.h[:n]
	if i != n && !b.down(i) {
		b.up(i)
	}
	w.hidx = -1
}

func (b *balancer) swap(i, j int) {
	b.moves++
	b.h[i], b.h[j] = b.h[j], b.h[i]
	b.h[i].hidx = i
	b.h[j].hidx = j
}

func (b *balancer) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !better(b.h[i], b.h[parent]) {
			return
		}
		b.swap(i, parent)
		i = parent
	}
}

func (b *balancer) down(i int) bool {
	start := i
	for {
		child := 2*i + 1
		if child >= len(b.h) {
			break
		}
		if r := child + 1; r < len(b.h) && better(b.h[r], b.h[child]) {
			child = r
		}
		if !better(b.h[child], b.h[i]) {
			break
		}
		b.swap(i, child)
		i = child
	}
	return i > start
}

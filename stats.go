package workerpool

// Stats is a snapshot of a pool's counters and gauges. Counters only grow;
// whenever the pool is quiet (no Submit in flight, no task starting or
// ending) Submitted == Succeeded + Failed + Panicked + Canceled + Dropped +
// Queued + Busy.
type Stats struct {
	Submitted      uint64 `json:"submitted"`       // tasks accepted
	Succeeded      uint64 `json:"succeeded"`       // fn returned nil
	Failed         uint64 `json:"failed"`          // fn returned an error
	Panicked       uint64 `json:"panicked"`        // fn panicked or called runtime.Goexit
	Canceled       uint64 `json:"canceled"`        // ended by its ctx, Task.Cancel or a forced Shutdown
	Dropped        uint64 `json:"dropped"`         // still waiting when a forced Shutdown ended
	Rejected       uint64 `json:"rejected"`        // Submit calls refused; never counted as Submitted
	BytesProcessed uint64 `json:"bytes_processed"` // WithSize of the tasks that succeeded

	Workers int `json:"workers"` // live workers
	Busy    int `json:"busy"`    // workers running a task
	Queued  int `json:"queued"`  // accepted tasks waiting to start
	Blocked int `json:"blocked"` // Submit calls waiting for room, not yet accepted

	// SuccessRate is Succeeded / (Succeeded + Failed + Panicked) in percent,
	// over the pool's life; 100 before any task ran.
	SuccessRate float64 `json:"success_rate_pct"`
}

// Stats returns a snapshot of the pool's counters and gauges. It is safe to
// call from any goroutine at any rate; it holds the pool's lock only to copy
// the figures.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	c := p.count
	s := Stats{
		Workers: len(p.workers),
		Busy:    p.busy,
		Queued:  p.queuedLocked(),
		Blocked: len(p.blocked),
	}
	p.mu.Unlock()

	s.Submitted, s.Succeeded, s.Failed = c.submitted, c.succeeded, c.failed
	s.Panicked, s.Canceled, s.Dropped = c.panicked, c.canceled, c.dropped
	s.BytesProcessed = c.bytes
	s.Rejected = p.rejected.Load()
	s.SuccessRate = percent(c.succeeded, c.succeeded+c.failed+c.panicked, 100)
	return s
}

// percent returns 100*n/d, or whenZero when d is 0.
func percent(n, d uint64, whenZero float64) float64 {
	if d == 0 {
		return whenZero
	}
	return 100 * float64(n) / float64(d)
}

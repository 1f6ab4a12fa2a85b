package workerpool

import (
	"encoding/json"
	"slices"
	"time"
)

// Stats is a snapshot of a pool's counters, gauges and latencies.
//
// Counters only grow. Whenever the pool is quiet (no Submit in flight, no
// task starting or ending), Submitted == Succeeded + Failed + Panicked +
// Canceled + Dropped + Queued + Busy; the counters and gauges of one
// snapshot are always taken together, so the identity holds in every
// snapshot taken between events.
//
// In JSON, durations are float milliseconds under keys ending in _ms.
type Stats struct {
	Submitted      uint64 `json:"submitted"`       // tasks accepted
	Succeeded      uint64 `json:"succeeded"`       // fn returned nil
	Failed         uint64 `json:"failed"`          // fn returned an error
	Panicked       uint64 `json:"panicked"`        // fn panicked or called runtime.Goexit
	Canceled       uint64 `json:"canceled"`        // ended by its ctx, Task.Cancel or a forced Shutdown
	Dropped        uint64 `json:"dropped"`         // still waiting when a forced Shutdown ended
	Rejected       uint64 `json:"rejected"`        // Submit calls refused; never counted as Submitted
	BytesProcessed uint64 `json:"bytes_processed"` // WithSize of the tasks that succeeded

	Workers    int  `json:"workers"`     // live workers
	Busy       int  `json:"busy"`        // workers running a task
	Queued     int  `json:"queued"`      // accepted tasks waiting to start, prefetched ones included
	Blocked    int  `json:"blocked"`     // Submit calls waiting for room, not yet accepted
	MinWorkers int  `json:"min_workers"` // WithMinWorkers
	MaxWorkers int  `json:"max_workers"` // WithMaxWorkers
	Pinned     bool `json:"pinned"`      // SetNumWorkers owns the size, not the scaler

	// SuccessRate is Succeeded / (Succeeded + Failed + Panicked) in percent,
	// over the pool's life; 100 before any task ran.
	SuccessRate float64 `json:"success_rate_pct"`
	// Utilization is BusyTime / LiveTime in percent: how much of the
	// workers' lives went to running tasks. It covers the pool's life; for
	// a recent figure, take the difference of two snapshots' times.
	Utilization float64       `json:"utilization_pct"`
	BusyTime    time.Duration `json:"-"` // summed over workers: time running a task
	LiveTime    time.Duration `json:"-"` // summed over workers: time alive

	// QueuedByLevel counts the waiting tasks per named priority level; other
	// priorities count under the nearest named level at or below them,
	// values below PriorityLow as low.
	QueuedByLevel LevelCounts   `json:"queued_by_level"`
	OldestWait    time.Duration `json:"-"` // age of the oldest waiting task; 0 when none waits

	// Wait (submit to start) and Run (start to end) summarise the tasks of
	// the recent Window (WithHealthWindow), overall and per level.
	Window      time.Duration `json:"-"`
	Wait        Latency       `json:"wait"`
	Run         Latency       `json:"run"`
	WaitByLevel LevelLatency  `json:"wait_by_level"`
	RunByLevel  LevelLatency  `json:"run_by_level"`

	// WaitBuckets and RunBuckets count every task since the pool started in
	// cumulative buckets with fixed bounds, so that an exporter can sum
	// them across pools and replicas (percentiles cannot be averaged).
	WaitBuckets []Bucket `json:"wait_buckets"`
	RunBuckets  []Bucket `json:"run_buckets"`

	// PerWorker lists every live worker, by id.
	PerWorker []WorkerStats `json:"per_worker"`
}

// LevelCounts is a count per named priority level.
type LevelCounts struct {
	Low      int `json:"low"`
	Normal   int `json:"normal"`
	High     int `json:"high"`
	Critical int `json:"critical"`
}

// LevelLatency is a latency summary per named priority level.
type LevelLatency struct {
	Low      Latency `json:"low"`
	Normal   Latency `json:"normal"`
	High     Latency `json:"high"`
	Critical Latency `json:"critical"`
}

// WorkerStats describes one worker, as the balancer sees it.
type WorkerStats struct {
	ID     int           `json:"id"`   // unique within the pool, in order of start
	Load   int           `json:"load"` // running plus prefetched tasks
	Runs   uint64        `json:"runs"` // tasks run
	AvgRun time.Duration `json:"-"`    // moving average of run time (weight 1/8)
}

// MarshalJSON writes AvgRun as float milliseconds.
func (w WorkerStats) MarshalJSON() ([]byte, error) {
	type plain WorkerStats
	return json.Marshal(struct {
		plain
		AvgRunMS float64 `json:"avg_run_ms"`
	}{plain(w), durationMS(w.AvgRun)})
}

// MarshalJSON writes the durations as float milliseconds.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain Stats
	return json.Marshal(struct {
		plain
		BusyTimeMS   float64 `json:"busy_time_ms"`
		LiveTimeMS   float64 `json:"live_time_ms"`
		OldestWaitMS float64 `json:"oldest_wait_ms"`
		WindowMS     float64 `json:"window_ms"`
	}{plain(s), durationMS(s.BusyTime), durationMS(s.LiveTime),
		durationMS(s.OldestWait), durationMS(s.Window)})
}

// Stats returns a snapshot of the pool: counters, gauges, one line per
// worker, and latency summaries. It is safe to call from any goroutine at
// any rate. It holds the pool's lock only to copy counters and gauges (and
// the per-worker lines), and merges the latency histograms without it, so it
// never holds up Submit for long; the merge costs some microseconds, which
// suits a dashboard or an exporter. [Pool.Counters] is the cheap part alone.
func (p *Pool) Stats() Stats {
	now := p.now()
	s := p.counters(now, true)
	p.latencies(now, &s)
	return s
}

// Counters returns the counters and gauges of [Pool.Stats], without the
// latency summaries, buckets and per-worker lines: cheap enough to read on
// every request.
func (p *Pool) Counters() Stats { return p.counters(p.now(), false) }

func (p *Pool) counters(now int64, perWorker bool) Stats {
	s := Stats{
		MinWorkers: p.cfg.min,
		MaxWorkers: p.cfg.max,
		Window:     p.cfg.health.window,
	}
	p.mu.Lock()
	p.accountLocked(now)
	c := p.count
	s.Workers, s.Busy, s.Queued = len(p.workers), p.busy, p.queuedLocked()
	s.Blocked, s.Pinned = len(p.blocked), p.pinned
	s.BusyTime, s.LiveTime = time.Duration(p.busyNS), time.Duration(p.liveNS)
	lv := p.byLevel
	if p.oldest != nil {
		s.OldestWait = time.Duration(now - p.oldest.submit)
	}
	if perWorker {
		s.PerWorker = make([]WorkerStats, len(p.workers))
		for i, w := range p.workers {
			s.PerWorker[i] = WorkerStats{ID: w.id, Load: w.load, Runs: w.runs, AvgRun: w.avg}
		}
	}
	p.mu.Unlock()

	s.Submitted, s.Succeeded, s.Failed = c.submitted, c.succeeded, c.failed
	s.Panicked, s.Canceled, s.Dropped = c.panicked, c.canceled, c.dropped
	s.BytesProcessed = c.bytes
	s.Rejected = p.rejected.Load()
	s.SuccessRate = percent(c.succeeded, c.succeeded+c.failed+c.panicked, 100)
	s.Utilization = percent(uint64(s.BusyTime), uint64(s.LiveTime), 0)
	s.QueuedByLevel = LevelCounts{Low: lv[0], Normal: lv[1], High: lv[2], Critical: lv[3]}
	slices.SortFunc(s.PerWorker, func(a, b WorkerStats) int { return a.ID - b.ID })
	return s
}

// latencies fills the latency part of s from the health window and the
// cumulative histograms.
func (p *Pool) latencies(now int64, s *Stats) {
	ws := p.health.win.snapshot(now)
	wait, run := mergeLevels(&ws.wait), mergeLevels(&ws.run)
	s.Wait, s.Run = wait.summary(), run.summary()
	s.WaitByLevel = levelLatency(&ws.wait)
	s.RunByLevel = levelLatency(&ws.run)
	s.WaitBuckets = cumulativeBuckets(p.health.win.cum.wait[:])
	s.RunBuckets = cumulativeBuckets(p.health.win.cum.run[:])
}

func levelLatency(hs *[numLevels]histSnapshot) LevelLatency {
	return LevelLatency{
		Low: hs[0].summary(), Normal: hs[1].summary(),
		High: hs[2].summary(), Critical: hs[3].summary(),
	}
}

// percent returns 100*n/d, or whenZero when d is 0.
func percent(n, d uint64, whenZero float64) float64 {
	if d == 0 {
		return whenZero
	}
	return 100 * float64(n) / float64(d)
}

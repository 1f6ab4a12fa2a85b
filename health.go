package workerpool

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Status is a pool's health: healthy, degraded or unhealthy.
type Status int

// The health states, from best to worst.
const (
	StatusHealthy Status = iota
	StatusDegraded
	StatusUnhealthy
)

// String returns "healthy", "degraded" or "unhealthy".
func (s Status) String() string {
	switch s {
	case StatusHealthy:
		return "healthy"
	case StatusDegraded:
		return "degraded"
	case StatusUnhealthy:
		return "unhealthy"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText writes the status as its name, so JSON shows "degraded".
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for c := StatusHealthy; c <= StatusUnhealthy; c++ {
		if string(b) == c.String() {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("workerpool: unknown status %q", b)
}

// Defaults of the health options.
const (
	DefaultHealthWindow      = time.Minute
	DefaultDegradedFailure   = 10.0 // percent
	DefaultUnhealthyFailure  = 25.0 // percent
	DefaultHealthMinTasks    = 20
	DefaultStallTimeout      = 5 * time.Second
	DefaultSaturationPercent = 5.0
)

// healthConfig holds the thresholds Health uses.
type healthConfig struct {
	window         time.Duration
	degraded       float64 // failure rate in percent
	unhealthy      float64
	minTasks       uint64
	stall          time.Duration
	saturation     float64 // refused submissions in percent
	readyOnFailure bool    // readiness fails on the failure rate too
	windowSlots    int
}

func defaultHealthConfig() healthConfig {
	return healthConfig{
		window:      DefaultHealthWindow,
		degraded:    DefaultDegradedFailure,
		unhealthy:   DefaultUnhealthyFailure,
		minTasks:    DefaultHealthMinTasks,
		stall:       DefaultStallTimeout,
		saturation:  DefaultSaturationPercent,
		windowSlots: 6,
	}
}

func (h *healthConfig) validate(c *config) {
	if h.degraded > h.unhealthy {
		c.invalid("WithFailureThresholds", fmt.Sprintf("%v, %v", h.degraded, h.unhealthy),
			"want degraded <= unhealthy")
	}
}

// WithHealthWindow sets the recent period over which Health computes the
// failure and refusal rates, and over which Stats reports latency
// percentiles. The default is [DefaultHealthWindow]; d must be at least one
// second.
func WithHealthWindow(d time.Duration) Option {
	return func(c *config) {
		if d < time.Second {
			c.invalid("WithHealthWindow", d, "want at least 1s")
			return
		}
		c.health.window = d
	}
}

// WithFailureThresholds sets the failure rates, in percent of the tasks that
// ran in the window, above which the pool is degraded and unhealthy. The
// defaults are [DefaultDegradedFailure] and [DefaultUnhealthyFailure]. Each
// must lie in [0, 100], and degraded must not exceed unhealthy.
func WithFailureThresholds(degraded, unhealthy float64) Option {
	return func(c *config) {
		if !(degraded >= 0 && degraded <= 100 && unhealthy >= 0 && unhealthy <= 100) {
			c.invalid("WithFailureThresholds", fmt.Sprintf("%v, %v", degraded, unhealthy),
				"want percentages in [0, 100]")
			return
		}
		c.health.degraded, c.health.unhealthy = degraded, unhealthy
	}
}

// WithHealthMinTasks sets how many tasks must have run (or submissions been
// made) in the window before the failure (or refusal) rate counts, so that
// one failure among three tasks does not make a quiet pool unhealthy. The
// default is [DefaultHealthMinTasks]; n must be at least 1.
func WithHealthMinTasks(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.invalid("WithHealthMinTasks", n, "want at least 1")
			return
		}
		c.health.minTasks = uint64(n)
	}
}

// WithStallTimeout sets how long work may wait while no task finishes before
// the pool counts as stalled, and unhealthy: a pool whose every worker hangs
// on a dead downstream must not report healthy. The default is
// [DefaultStallTimeout]; d must be positive.
func WithStallTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.invalid("WithStallTimeout", d, "want more than 0")
			return
		}
		c.health.stall = d
	}
}

// WithSaturationThreshold sets the share, in percent, of submissions in the
// window refused for a full queue above which the pool is degraded and not
// ready. The default is [DefaultSaturationPercent]; pct must lie in [0, 100].
func WithSaturationThreshold(pct float64) Option {
	return func(c *config) {
		if !(pct >= 0 && pct <= 100) {
			c.invalid("WithSaturationThreshold", pct, "want a percentage in [0, 100]")
			return
		}
		c.health.saturation = pct
	}
}

// WithReadinessOnFailureRate makes HealthHandler answer 503 when the failure
// rate alone makes the pool unhealthy. Off by default: see
// [Pool.HealthHandler].
func WithReadinessOnFailureRate() Option {
	return func(c *config) { c.health.readyOnFailure = true }
}

// monitor keeps the windowed figures behind Health and the latency part of
// Stats. Its methods are safe for concurrent use without the pool's lock and
// cost a few atomic adds.
type monitor struct {
	win        *window
	lastFinish atomic.Int64 // when a task last finished running, ns since start
}

func (m *monitor) accepted(now int64)    { m.win.addEvent(now, evAccepted) }
func (m *monitor) refusedFull(now int64) { m.win.addEvent(now, evRefused) }

// started records how long t waited.
func (m *monitor) started(t *Task) {
	m.win.recordWait(t.started, t.prio.level(), time.Duration(t.started-t.submit))
}

// ran records a task that ran for run nanoseconds and ended as oc. Only
// success, failure and panic count toward the failure rate: a canceled task
// says something about its caller, not about the pool.
func (m *monitor) ran(now int64, t *Task, oc Outcome, run int64) {
	m.lastFinish.Store(now)
	m.win.recordRun(now, t.prio.level(), time.Duration(run))
	switch oc {
	case OutcomeSucceeded:
		m.win.addEvent(now, evSucceeded)
	case OutcomeFailed:
		m.win.addEvent(now, evFailed)
	case OutcomePanicked:
		m.win.addEvent(now, evPanicked)
	}
}

// Health is a pool's health and the figures behind it. Every rate covers the
// recent Window, not the pool's life.
type Health struct {
	Status  Status   `json:"status"`
	Ready   bool     `json:"ready"`   // what HealthHandler answers: 200 or 503
	Reasons []string `json:"reasons"` // why the status is not healthy; empty when it is

	State       string        `json:"state"` // "running", "shutting down" or "shut down"
	Window      time.Duration `json:"-"`
	Ran         uint64        `json:"ran"`              // tasks that ran to an end in the window
	Failed      uint64        `json:"failed"`           // of those, failed or panicked
	FailureRate float64       `json:"failure_rate_pct"` // Failed / Ran in percent; 0 below the minimum
	Submissions uint64        `json:"submissions"`      // accepted plus refused for a full queue
	Refused     uint64        `json:"refused"`          // refused for a full queue
	RefusalRate float64       `json:"refusal_rate_pct"` // Refused / Submissions in percent
	Queued      int           `json:"queued"`
	Busy        int           `json:"busy"`
	Workers     int           `json:"workers"`
	OldestWait  time.Duration `json:"-"` // age of the oldest waiting task
	Stalled     bool          `json:"stalled"`
	StalledFor  time.Duration `json:"-"` // how long work has waited with no task finishing
	Saturated   bool          `json:"saturated"`
}

type healthJSON Health

// MarshalJSON writes durations as float milliseconds.
func (h Health) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		healthJSON
		WindowMS     float64 `json:"window_ms"`
		OldestWaitMS float64 `json:"oldest_wait_ms"`
		StalledForMS float64 `json:"stalled_for_ms"`
	}{healthJSON(h), durationMS(h.Window), durationMS(h.OldestWait), durationMS(h.StalledFor)})
}

// Health reports the pool's health:
//   - unhealthy when it is shutting down or shut down; when it is stalled
//     (work has waited for the stall timeout with no task finishing); or
//     when more than the unhealthy threshold of the tasks that ran in the
//     window failed or panicked;
//   - degraded when more than the degraded threshold failed, or more than
//     the saturation threshold of the window's submissions were refused for
//     a full queue;
//   - healthy otherwise.
//
// Rates count only once the window holds the minimum number of tasks
// ([WithHealthMinTasks]). Canceled and dropped tasks never count: a client
// going away must not make the pool sick. Health is safe to call from any
// goroutine at any rate and does its formatting here, not on the Submit
// path.
func (p *Pool) Health() Health {
	now := p.now()
	cfg := &p.cfg.health
	p.mu.Lock()
	h := Health{
		State:   p.stateName(),
		Queued:  p.queuedLocked(),
		Busy:    p.busy,
		Workers: len(p.workers),
		Window:  cfg.window,
	}
	oldest := p.oldestSubmitLocked()
	p.mu.Unlock()

	ws := p.health.win.counts(now)
	h.Ran = ws.succeeded + ws.failed + ws.panicked
	h.Failed = ws.failed + ws.panicked
	h.Submissions = ws.accepted + ws.refused
	h.Refused = ws.refused
	if h.Ran >= cfg.minTasks {
		h.FailureRate = percent(h.Failed, h.Ran, 0)
	}
	if h.Submissions >= cfg.minTasks {
		h.RefusalRate = percent(h.Refused, h.Submissions, 0)
	}
	if h.Queued > 0 {
		h.OldestWait = time.Duration(now - oldest)
		h.StalledFor = time.Duration(now - max(oldest, p.health.lastFinish.Load()))
		h.Stalled = h.StalledFor >= cfg.stall
	}
	h.Saturated = h.RefusalRate > cfg.saturation
	h.judge(cfg)
	return h
}

// judge sets Status, Ready and Reasons from the figures.
func (h *Health) judge(cfg *healthConfig) {
	notReady := func(st Status, reason string) {
		h.raise(st, reason)
		h.Ready = false
	}
	h.Ready = true
	if h.State != "running" {
		notReady(StatusUnhealthy, "pool is "+h.State)
	}
	if h.Stalled {
		notReady(StatusUnhealthy, fmt.Sprintf(
			"stalled: %d tasks waiting, the oldest for %v, and no task finished for %v",
			h.Queued, h.OldestWait.Round(time.Millisecond), h.StalledFor.Round(time.Millisecond)))
	}
	if h.Saturated {
		notReady(StatusDegraded, fmt.Sprintf(
			"saturated: %.1f%% of %d submissions in the last %v refused for a full queue (threshold %.1f%%)",
			h.RefusalRate, h.Submissions, h.Window, cfg.saturation))
	}
	failure := fmt.Sprintf("%.1f%% of %d tasks in the last %v failed or panicked",
		h.FailureRate, h.Ran, h.Window)
	switch {
	case h.FailureRate > cfg.unhealthy:
		h.raise(StatusUnhealthy, fmt.Sprintf("failure rate: %s (unhealthy above %.1f%%)", failure, cfg.unhealthy))
		if cfg.readyOnFailure {
			h.Ready = false
		}
	case h.FailureRate > cfg.degraded:
		h.raise(StatusDegraded, fmt.Sprintf("failure rate: %s (degraded above %.1f%%)", failure, cfg.degraded))
	}
}

func (h *Health) raise(st Status, reason string) {
	h.Status = max(h.Status, st)
	h.Reasons = append(h.Reasons, reason)
}

func (p *Pool) stateName() string {
	switch {
	case p.state == stateOpen:
		return "running"
	case len(p.workers) > 0:
		return "shutting down"
	}
	return "shut down"
}

// HealthHandler returns an http.Handler for readiness probes. It answers GET
// and HEAD with the [Health] as JSON, status 200 when the pool should get
// traffic and 503 when it should not: shut down or shutting down, stalled,
// or saturated. Other methods get 405.
//
// A failure rate alone, even one that makes the pool unhealthy, still
// answers 200 unless the pool was built with [WithReadinessOnFailureRate]:
// when a downstream shared by every replica fails, every replica's tasks
// fail together, and taking them all out of rotation turns a partial outage
// into a full one.
func (p *Pool) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := p.Health()
		body, err := json.Marshal(h)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if h.Ready {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if r.Method == http.MethodGet {
			w.Write(append(body, '\n'))
		}
	})
}

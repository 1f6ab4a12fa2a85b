package workerpool

// healthConfig holds the thresholds Health uses.
type healthConfig struct{}

func defaultHealthConfig() healthConfig { return healthConfig{} }

func (h *healthConfig) validate(c *config) {}

// monitor keeps the windowed figures behind Health and the latency part of
// Stats. Its methods are safe for concurrent use without the pool's lock.
type monitor struct{}

func (m *monitor) accepted(now int64)                            {}
func (m *monitor) refusedFull(now int64)                         {}
func (m *monitor) started(t *Task)                               {}
func (m *monitor) ran(now int64, t *Task, oc Outcome, run int64) {}

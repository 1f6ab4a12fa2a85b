package workerpool

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// ErrInvalidOption is wrapped by every error New returns for a bad option;
// the message names the option and the value.
var ErrInvalidOption = errors.New("workerpool: invalid option")

// Defaults of New.
const (
	// DefaultQueueSize bounds the waiting tasks when WithQueueSize is not
	// given. A bound, rather than an unbounded queue, because a service
	// under overload should push back on its callers (Submit blocks,
	// TrySubmit refuses) before it runs out of memory or its queue wait
	// exceeds every caller's deadline; 1024 is deep enough that bursts do
	// not block a well-sized pool.
	DefaultQueueSize = 1024
	// DefaultIdleTimeout is how long a worker above the minimum waits for
	// work before it retires.
	DefaultIdleTimeout = 10 * time.Second
)

// An Option configures a Pool in New.
type Option func(*config)

type config struct {
	min, max    int
	maxSet      bool
	queue       int
	idleTimeout time.Duration
	aging       time.Duration
	depth       int
	health      healthConfig
	errs        []error
}

func defaultConfig() config {
	return config{
		max:         runtime.GOMAXPROCS(0),
		queue:       DefaultQueueSize,
		idleTimeout: DefaultIdleTimeout,
		depth:       1,
		health:      defaultHealthConfig(),
	}
}

// invalid records a bad option; New reports them all.
func (c *config) invalid(option string, value any, want string) {
	c.errs = append(c.errs, fmt.Errorf("%w: %s(%v): %s", ErrInvalidOption, option, value, want))
}

// WithMinWorkers sets the number of workers the pool keeps even when idle.
// New starts them at once. The default is 0; n < 0 is an error.
func WithMinWorkers(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.invalid("WithMinWorkers", n, "want at least 0")
			return
		}
		c.min = n
	}
}

// WithMaxWorkers sets the most workers, and so the most tasks running at
// once. The default is runtime.GOMAXPROCS(0), raised to the minimum if that
// is larger; n < 1 is an error.
func WithMaxWorkers(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.invalid("WithMaxWorkers", n, "want at least 1")
			return
		}
		c.max, c.maxSet = n, true
	}
}

// WithQueueSize bounds the tasks waiting to start (running tasks do not
// count). With n = 0 a task is accepted only when a worker can take it at
// once. The default is [DefaultQueueSize]; n < 0 is an error.
func WithQueueSize(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.invalid("WithQueueSize", n, "want at least 0")
			return
		}
		c.queue = n
	}
}

// WithIdleTimeout sets how long a worker above the minimum waits for work
// before it retires. Zero retires such a worker as soon as it finds no work.
// The default is [DefaultIdleTimeout]; d < 0 is an error.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.invalid("WithIdleTimeout", d, "want at least 0")
			return
		}
		c.idleTimeout = d
	}
}

// WithAging lets waiting tasks below PriorityCritical gain one unit of
// priority for every d they wait, so that a steady stream of high-priority
// work cannot starve low-priority work. Critical tasks never age and are
// never outranked by aged tasks. Aging is off by default (d = 0): strict
// priority, then first in first out, is the order a caller can reason about,
// and how fast low priority should catch up depends on the work. d < 0 is an
// error.
func WithAging(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.invalid("WithAging", d, "want at least 0")
			return
		}
		c.aging = d
	}
}

// WithWorkerDepth lets each worker hold up to d tasks: the one it runs and
// d-1 prefetched into a small local queue, like a message broker's
// prefetch. The balancer places each new task on the least-loaded worker
// below its depth, and an idle worker steals from the most-loaded one, so no
// task waits while a worker is idle. Prefetched tasks count as Queued and
// within WithQueueSize. The cost is bounded but real: a prefetched task can
// wait behind up to d-1 tasks already placed on its worker even when another
// worker frees up first and takes lower-priority work from the shared
// queue. The default, 1, turns prefetch off and keeps the exact priority
// order; d < 1 is an error.
func WithWorkerDepth(d int) Option {
	return func(c *config) {
		if d < 1 {
			c.invalid("WithWorkerDepth", d, "want at least 1")
			return
		}
		c.depth = d
	}
}

// validate checks what no single option can: the options together.
func (c *config) validate() error {
	if !c.maxSet && c.max < c.min {
		c.max = c.min
	}
	if c.min > c.max {
		c.invalid("WithMinWorkers", c.min, fmt.Sprintf("want at most WithMaxWorkers (%d)", c.max))
	}
	c.health.validate(c)
	return errors.Join(c.errs...)
}

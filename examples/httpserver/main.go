// Command httpserver is a small HTTP service that hashes request bodies on a
// workerpool.Pool, and shows how a service sheds load, reports readiness and
// shuts down without losing work.
//
// Usage:
//
//	httpserver [-addr host:port] [-min n] [-max n] [-queue n] [-max-body bytes]
//	           [-shutdown-timeout d]
//
// It listens on 127.0.0.1:8080 by default and prints the address it listens
// on to stderr, so -addr 127.0.0.1:0 picks a free port. The endpoints are:
//
//   - POST /hash answers the SHA-256 of the request body as 64 lower-case hex
//     digits and a newline (text/plain), the format of sha256sum without the
//     name. The hash runs on the pool at the priority named by the X-Priority
//     header: low, normal (the default when the header is missing), high or
//     critical; any other value is a 400. A full queue is a 503 with
//     Retry-After: 1, a body over -max-body a 413, any other method a 405.
//   - GET /readyz is the pool's [workerpool.Pool.HealthHandler]: 200 when the
//     pool should get traffic, 503 when not, with the Health as JSON.
//   - GET /stats is [workerpool.Pool.Stats] as JSON.
//
// On SIGINT or SIGTERM it stops accepting connections, lets the requests in
// flight finish, then shuts the pool down; both phases share the
// -shutdown-timeout. It exits 0 when nothing was lost (every request in flight
// was answered and the pool dropped no task), 1 otherwise, and 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/example/workerpool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// errUsage marks errors in the command line.
var errUsage = errors.New("bad usage")

// errLost is returned by run when a request or a task was lost at shutdown.
var errLost = errors.New("work lost at shutdown")

// exitCode reports err on stderr and maps it to the exit code.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "httpserver: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "httpserver: %v\n", err)
		return 1
	}
}

// config holds the parsed command line.
type config struct {
	addr                          string
	minWorkers, maxWorkers, queue int
	maxBody                       int64
	shutdownTimeout               time.Duration
}

// parseArgs parses the flags. Errors other than flag.ErrHelp wrap errUsage.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	var c config
	fset := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fset.IntVar(&c.minWorkers, "min", 0, "minimum number of workers")
	fset.IntVar(&c.maxWorkers, "max", runtime.GOMAXPROCS(0), "maximum number of workers")
	// Below the library's default: at a few ms per hash, 256 waiting tasks
	// are already a wait of seconds, past which a 503 serves a client better.
	fset.IntVar(&c.queue, "queue", 256, "number of hashes that may wait to start")
	fset.Int64Var(&c.maxBody, "max-body", 8<<20, "largest request body in bytes")
	fset.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second,
		"time to finish requests and tasks after SIGINT or SIGTERM")
	err := fset.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return c, err
	case err != nil:
		return c, fmt.Errorf("%w: %v", errUsage, err)
	case fset.NArg() > 0:
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fset.Args())
	case c.maxBody < 0:
		return c, fmt.Errorf("%w: -max-body %d is negative", errUsage, c.maxBody)
	}
	return c, nil
}

// run is the whole command; main adds the signals and os.Exit. It serves
// until ctx ends, then shuts down and returns nil if nothing was lost.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	pool, err := workerpool.New(
		workerpool.WithMinWorkers(c.minWorkers),
		workerpool.WithMaxWorkers(c.maxWorkers),
		workerpool.WithQueueSize(c.queue),
	)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		pool.Shutdown(context.Background())
		return err
	}
	// Print the address after Listen, so that a port of 0 shows the real one.
	fmt.Fprintf(stderr, "httpserver: listening on http://%s\n", ln.Addr())

	srv := &http.Server{
		Handler: newHandler(pool, c.maxBody),
		// Bound how long a slow client may hold a connection; the body is
		// read in the handler, before any worker is involved.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       time.Minute,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		pool.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "httpserver: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	return shutdown(sctx, srv, pool, serveErr, stderr)
}

// shutdown stops srv, waiting for the requests in flight, then pool, and
// reports on stderr. It returns an error wrapping errLost unless every
// request in flight was answered and the pool dropped no task. The HTTP
// server goes first: its handlers wait on pool tasks, so the pool must keep
// running until they have their answers.
func shutdown(ctx context.Context, srv *http.Server, pool *workerpool.Pool,
	serveErr <-chan error, stderr io.Writer,
) error {
	var errs []error
	if err := srv.Shutdown(ctx); err != nil {
		// The deadline passed with requests in flight. Closing their
		// connections cancels their contexts, and so their queued tasks.
		errs = append(errs, fmt.Errorf("http: %w", err))
		srv.Close()
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	if err := pool.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("pool: %w", err))
	}
	st := pool.Stats()
	fmt.Fprintf(stderr, "httpserver: stopped: submitted=%d succeeded=%d failed=%d "+
		"canceled=%d dropped=%d rejected=%d bytes=%d\n",
		st.Submitted, st.Succeeded, st.Failed+st.Panicked, st.Canceled, st.Dropped,
		st.Rejected, st.BytesProcessed)
	if st.Dropped > 0 {
		errs = append(errs, fmt.Errorf("pool dropped %d tasks", st.Dropped))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", errLost, errors.Join(errs...))
	}
	return nil
}

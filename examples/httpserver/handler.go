package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/example/workerpool"
)

// priorities maps the values of the X-Priority header to pool priorities.
// A missing header is normal priority.
var priorities = map[string]workerpool.Priority{
	"":         workerpool.PriorityNormal,
	"low":      workerpool.PriorityLow,
	"normal":   workerpool.PriorityNormal,
	"high":     workerpool.PriorityHigh,
	"critical": workerpool.PriorityCritical,
}

// hashChunk is how much of a body a task hashes between checks of its
// context, so that a request that goes away stops using its worker soon.
const hashChunk = 64 << 10

// newHandler returns the service's routes. The ServeMux answers 405, with
// an Allow header, to a method a route does not take.
func newHandler(pool *workerpool.Pool, maxBody int64) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /hash", &hashHandler{pool: pool, maxBody: maxBody})
	// No method in the pattern: HealthHandler takes GET and HEAD itself.
	mux.Handle("/readyz", pool.HealthHandler())
	mux.Handle("GET /stats", statsHandler(pool))
	return mux
}

// A hashHandler answers the SHA-256 of the request body, hashed on a pool.
type hashHandler struct {
	pool    *workerpool.Pool
	maxBody int64
}

func (h *hashHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pr, ok := priorities[r.Header.Get("X-Priority")]
	if !ok {
		msg := fmt.Sprintf("bad X-Priority %q: want low, normal, high or critical",
			r.Header.Get("X-Priority"))
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	if r.ContentLength > h.maxBody {
		// Refuse a declared oversize body before reading any of it.
		tooLarge(w, h.maxBody)
		return
	}
	// The handler reads the body, not the task. A task that read it would
	// hold a worker for as long as the client takes to send it, so a few
	// slow clients could occupy every worker while the CPU idles; here a
	// slow client costs only its own goroutine, and the workers do only the
	// hashing, which is what their number is sized for. The price is memory,
	// up to maxBody per request in flight. Reading first also means an
	// oversize body never takes a place in the queue, and that the server
	// watches the connection while the task waits, so a client that hangs
	// up cancels r.Context() and with it the queued task.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge(w, h.maxBody)
		} else {
			http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		}
		return
	}

	var sum []byte
	fn := func(ctx context.Context) error {
		var err error
		sum, err = hash(ctx, body)
		return err
	}
	// TrySubmit, not Submit: when the queue is full the client should hear
	// so at once and retry, instead of holding a connection in a line
	// that may already be longer than its patience.
	task, err := h.pool.TrySubmit(r.Context(), fn,
		workerpool.WithPriority(pr), workerpool.WithSize(int64(len(body))))
	switch {
	case errors.Is(err, workerpool.ErrQueueFull):
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy: queue is full", http.StatusServiceUnavailable)
		return
	case errors.Is(err, workerpool.ErrClosed):
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	case err != nil:
		// r.Context() ended before the submit: the client has gone.
		return
	}

	err = task.Wait(r.Context())
	switch {
	case err == nil:
		// The task has ended, so its write of sum happened before this read.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%x\n", sum)
	case r.Context().Err() != nil:
		// The client has gone; the task, whose context derives from the
		// request's, was canceled with it. Nobody reads an answer.
	case errors.Is(err, workerpool.ErrDropped):
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// tooLarge answers 413 for a body over limit bytes.
func tooLarge(w http.ResponseWriter, limit int64) {
	msg := fmt.Sprintf("body over the limit of %d bytes", limit)
	http.Error(w, msg, http.StatusRequestEntityTooLarge)
}

// hash returns the SHA-256 of b. It stops with ctx.Err() when ctx ends.
func hash(ctx context.Context, b []byte) ([]byte, error) {
	h := sha256.New()
	for len(b) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(len(b), hashChunk)
		h.Write(b[:n])
		b = b[n:]
	}
	return h.Sum(nil), nil
}

// statsHandler answers the pool's Stats as indented JSON.
func statsHandler(pool *workerpool.Pool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := json.MarshalIndent(pool.Stats(), "", "  ")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
	})
}

package workerpool_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/example/workerpool"
)

var errDownstream = errors.New("downstream failed")

// runN runs n tasks, the first failing ones failing, and waits for them.
func runN(t *testing.T, p *workerpool.Pool, n, failing int) {
	t.Helper()
	for i := range n {
		task := submit(t, p, func(context.Context) error {
			if i < failing {
				return errDownstream
			}
			return nil
		})
		<-task.Done()
	}
}

func TestStatusString(t *testing.T) {
	for st, want := range map[workerpool.Status]string{
		workerpool.StatusHealthy:   "healthy",
		workerpool.StatusDegraded:  "degraded",
		workerpool.StatusUnhealthy: "unhealthy",
	} {
		assert.Equal(t, want, st.String())
		b, err := json.Marshal(st)
		require.NoError(t, err)
		assert.Equal(t, `"`+want+`"`, string(b))
		var back workerpool.Status
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, st, back)
	}
}

func TestHealthFailureRate(t *testing.T) {
	cases := []struct {
		name         string
		n, failing   int
		status       workerpool.Status
		readyOnFails bool
		ready        bool
	}{
		{"no tasks", 0, 0, workerpool.StatusHealthy, false, true},
		{"below the minimum of tasks", 10, 10, workerpool.StatusHealthy, false, true},
		{"10 percent is not above 10", 20, 2, workerpool.StatusHealthy, false, true},
		{"15 percent", 20, 3, workerpool.StatusDegraded, false, true},
		{"30 percent, still ready", 20, 6, workerpool.StatusUnhealthy, false, true},
		{"30 percent, readiness opted in", 20, 6, workerpool.StatusUnhealthy, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := []workerpool.Option{workerpool.WithMaxWorkers(1)}
				if tc.readyOnFails {
					opts = append(opts, workerpool.WithReadinessOnFailureRate())
				}
				p, err := workerpool.New(opts...)
				require.NoError(t, err)
				runN(t, p, tc.n, tc.failing)
				h := p.Health()
				assert.Equal(t, tc.status, h.Status, "reasons: %v", h.Reasons)
				assert.Equal(t, tc.ready, h.Ready)
				assert.Equal(t, uint64(tc.n), h.Ran)
				assert.Equal(t, uint64(tc.failing), h.Failed)
				if tc.status != workerpool.StatusHealthy {
					require.Len(t, h.Reasons, 1)
					assert.Contains(t, h.Reasons[0], "failure rate")
				} else {
					assert.Empty(t, h.Reasons)
				}
				require.NoError(t, p.Shutdown(context.Background()))
			})
		})
	}
}

func TestHealthWindowRollsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1),
			workerpool.WithHealthWindow(time.Minute))
		require.NoError(t, err)
		// A million successes long ago do not hide a bad minute now.
		runN(t, p, 1000, 0)
		time.Sleep(2 * time.Minute)
		runN(t, p, 40, 20)
		h := p.Health()
		assert.Equal(t, workerpool.StatusUnhealthy, h.Status)
		assert.InDelta(t, 50.0, h.FailureRate, 0.01)

		// After a minute with no failures the pool has recovered.
		time.Sleep(time.Minute)
		runN(t, p, 30, 0)
		h = p.Health()
		assert.Equal(t, workerpool.StatusHealthy, h.Status, "reasons: %v", h.Reasons)
		assert.Equal(t, uint64(30), h.Ran)
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestHealthIgnoresCanceledTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1))
		require.NoError(t, err)
		for range 50 {
			ctx, cancel := context.WithCancel(context.Background())
			task, err := p.Submit(ctx, func(ctx context.Context) error {
				cancel()
				<-ctx.Done()
				return ctx.Err()
			})
			require.NoError(t, err)
			<-task.Done()
			require.Equal(t, workerpool.OutcomeCanceled, task.Outcome())
		}
		h := p.Health()
		assert.Equal(t, workerpool.StatusHealthy, h.Status)
		assert.Equal(t, uint64(0), h.Ran)
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestHealthStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1),
			workerpool.WithStallTimeout(5*time.Second))
		require.NoError(t, err)
		hang := make(chan struct{})
		submit(t, p, func(context.Context) error { <-hang; return nil })
		time.Sleep(time.Hour) // an idle hour before the work arrives
		submit(t, p, ok)
		time.Sleep(4 * time.Second)
		h := p.Health()
		assert.False(t, h.Stalled)
		assert.Equal(t, workerpool.StatusHealthy, h.Status)
		assert.Equal(t, 4*time.Second, h.OldestWait)

		time.Sleep(time.Second)
		h = p.Health()
		assert.True(t, h.Stalled)
		assert.False(t, h.Ready)
		assert.Equal(t, workerpool.StatusUnhealthy, h.Status)
		require.Len(t, h.Reasons, 1)
		assert.Contains(t, h.Reasons[0], "the oldest for 5s")

		close(hang)
		synctest.Wait()
		h = p.Health()
		assert.False(t, h.Stalled)
		assert.Equal(t, workerpool.StatusHealthy, h.Status)
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestHealthSaturation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(0))
		require.NoError(t, err)
		runN(t, p, 99, 0)
		hold := newGate()
		submit(t, p, hold.fn)
		// One refusal in a hundred submissions is not a sickness.
		_, err = p.TrySubmit(context.Background(), ok)
		require.ErrorIs(t, err, workerpool.ErrQueueFull)
		h := p.Health()
		assert.Equal(t, workerpool.StatusHealthy, h.Status)
		assert.True(t, h.Ready)

		for range 10 {
			_, err = p.TrySubmit(context.Background(), ok)
			require.ErrorIs(t, err, workerpool.ErrQueueFull)
		}
		h = p.Health()
		assert.True(t, h.Saturated)
		assert.False(t, h.Ready)
		assert.Equal(t, workerpool.StatusDegraded, h.Status)
		assert.Equal(t, uint64(11), h.Refused)
		assert.Equal(t, uint64(111), h.Submissions)
		hold.open()
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestHealthShutdown(t *testing.T) {
	p, err := workerpool.New()
	require.NoError(t, err)
	require.Equal(t, workerpool.StatusHealthy, p.Health().Status)
	require.NoError(t, p.Shutdown(context.Background()))
	h := p.Health()
	assert.Equal(t, workerpool.StatusUnhealthy, h.Status)
	assert.False(t, h.Ready)
	assert.Equal(t, "shut down", h.State)
}

func TestHealthOptionsValidated(t *testing.T) {
	for name, opt := range map[string]workerpool.Option{
		"WithHealthWindow":          workerpool.WithHealthWindow(time.Millisecond),
		"WithFailureThresholds":     workerpool.WithFailureThresholds(30, 20),
		"WithHealthMinTasks":        workerpool.WithHealthMinTasks(0),
		"WithStallTimeout":          workerpool.WithStallTimeout(0),
		"WithSaturationThreshold":   workerpool.WithSaturationThreshold(101),
		"WithWorkerDepth":           workerpool.WithWorkerDepth(0),
		"WithFailureThresholds NaN": workerpool.WithFailureThresholds(-1, 50),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := workerpool.New(opt)
			assert.ErrorIs(t, err, workerpool.ErrInvalidOption)
		})
	}
}

func TestHealthHandler(t *testing.T) {
	p, err := workerpool.New()
	require.NoError(t, err)
	h := p.HealthHandler()
	serve := func(method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/readyz", nil))
		return rec
	}

	rec := serve(http.MethodGet)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "healthy", body["status"])
	assert.Contains(t, body, "failure_rate_pct")
	assert.Contains(t, body, "oldest_wait_ms")

	rec = serve(http.MethodHead)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Empty(t, rec.Body.Bytes())

	rec = serve(http.MethodPost)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))

	require.NoError(t, p.Shutdown(context.Background()))
	rec = serve(http.MethodGet)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "unhealthy", body["status"])
}

package workerpool_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/example/workerpool"
)

type ctxKey struct{}

func TestRunContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := workerpool.New(workerpool.WithMaxWorkers(1))
		require.NoError(t, err)
		parent, cancelParent := context.WithTimeout(
			context.WithValue(context.Background(), ctxKey{}, "v"), time.Hour)
		defer cancelParent()

		var child context.Context
		afterRan := make(chan struct{})
		task, err := p.Submit(parent, func(ctx context.Context) error {
			assert.Equal(t, "v", ctx.Value(ctxKey{}), "values come from the Submit ctx")
			d, ok := ctx.Deadline()
			assert.True(t, ok)
			assert.Equal(t, time.Now().Add(time.Minute), d, "own timeout is earlier than the parent's")
			assert.NoError(t, ctx.Err())

			// Contexts derived from the task's end with it.
			var cancel context.CancelFunc
			child, cancel = context.WithCancel(ctx)
			defer cancel()
			context.AfterFunc(ctx, func() { close(afterRan) })
			stop := context.AfterFunc(ctx, func() { t.Error("stopped AfterFunc ran") })
			assert.True(t, stop())
			<-ctx.Done()
			assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
			<-child.Done() // derived contexts follow, asynchronously
			assert.ErrorIs(t, child.Err(), context.DeadlineExceeded)
			return ctx.Err()
		}, workerpool.WithTimeout(time.Minute))
		require.NoError(t, err)
		<-task.Done()
		<-afterRan
		assert.Equal(t, workerpool.OutcomeFailed, task.Outcome(), "own timeout: failed")
		require.NoError(t, p.Shutdown(context.Background()))
	})
}

func TestRunContextEndsWhenFnReturns(t *testing.T) {
	p := newPool(t)
	var kept context.Context
	require.NoError(t, wait(t, submit(t, p, func(ctx context.Context) error {
		kept = ctx
		return nil
	})))
	select {
	case <-kept.Done():
	default:
		t.Fatal("the task's context is still live after fn returned")
	}
	assert.ErrorIs(t, kept.Err(), context.Canceled)
	assert.Nil(t, kept.Value(ctxKey{}))
	fired := make(chan struct{})
	context.AfterFunc(kept, func() { close(fired) })
	<-fired
}

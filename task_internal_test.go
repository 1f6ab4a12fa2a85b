package workerpool

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEndedTaskReleasesFn checks that a task keeps no reference to its
// function once it has ended, however it ended, so that what the function
// captured can be collected.
func TestEndedTaskReleasesFn(t *testing.T) {
	p, err := New(WithMaxWorkers(1))
	require.NoError(t, err)
	release := make(chan struct{})
	hold, err := p.Submit(context.Background(), func(context.Context) error { <-release; return nil })
	require.NoError(t, err)
	waiting, err := p.Submit(context.Background(), func(context.Context) error { return nil })
	require.NoError(t, err)
	dropped, err := p.Submit(context.Background(), func(context.Context) error { return nil })
	require.NoError(t, err)
	waiting.Cancel()
	close(release)
	<-hold.Done()
	<-dropped.Done()
	require.NoError(t, p.Shutdown(context.Background()))
	for _, task := range []*Task{hold, waiting, dropped} {
		p.mu.Lock()
		assert.Nil(t, task.fn, "outcome %v", task.Outcome())
		p.mu.Unlock()
	}
}

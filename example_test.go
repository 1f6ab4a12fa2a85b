package workerpool_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/example/workerpool"
)

func Example() {
	p, err := workerpool.New(workerpool.WithMaxWorkers(4))
	if err != nil {
		panic(err)
	}
	defer p.Shutdown(context.Background())

	task, err := p.Submit(context.Background(), func(ctx context.Context) error {
		fmt.Println("hello from a worker")
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(task.Wait(context.Background()), task.Outcome())
	// Output:
	// hello from a worker
	// <nil> succeeded
}

func ExamplePool_Submit_priority() {
	// One worker, held busy, so that the waiting tasks queue up.
	p, _ := workerpool.New(workerpool.WithMaxWorkers(1))
	release := make(chan struct{})
	p.Submit(context.Background(), func(context.Context) error { <-release; return nil })

	for _, pr := range []workerpool.Priority{
		workerpool.PriorityLow, workerpool.PriorityNormal, workerpool.PriorityCritical,
	} {
		p.Submit(context.Background(), func(context.Context) error {
			fmt.Println(pr)
			return nil
		}, workerpool.WithPriority(pr))
	}
	close(release)
	p.Shutdown(context.Background())
	// Output:
	// critical
	// normal
	// low
}

func ExamplePool_TrySubmit() {
	p, _ := workerpool.New(workerpool.WithMaxWorkers(1), workerpool.WithQueueSize(0))
	release := make(chan struct{})
	p.TrySubmit(context.Background(), func(context.Context) error { <-release; return nil })

	// The only worker is busy and there is no waiting room: shed the load.
	_, err := p.TrySubmit(context.Background(), func(context.Context) error { return nil })
	fmt.Println(errors.Is(err, workerpool.ErrQueueFull))
	close(release)
	p.Shutdown(context.Background())
	// Output: true
}

func ExampleTask_Wait_panic() {
	p, _ := workerpool.New()
	defer p.Shutdown(context.Background())
	task, _ := p.Submit(context.Background(), func(context.Context) error {
		panic("bad input")
	})
	var pe *workerpool.PanicError
	err := task.Wait(context.Background())
	fmt.Println(errors.As(err, &pe), pe.Value, task.Outcome())
	// Output: true bad input panicked
}

func ExamplePool_Shutdown() {
	p, _ := workerpool.New(workerpool.WithMaxWorkers(2))
	for i := range 3 {
		p.Submit(context.Background(), func(context.Context) error {
			_ = i // work that must finish before the program exits
			return nil
		})
	}
	// Shutdown refuses new work and waits for every accepted task.
	err := p.Shutdown(context.Background())
	s := p.Stats()
	fmt.Println(err, s.Succeeded, p.NumWorkers())
	// Output: <nil> 3 0
}

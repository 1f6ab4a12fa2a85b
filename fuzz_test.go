package workerpool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/example/workerpool"
)

// FuzzPoolInvariants decodes its input into a pool configuration and a
// sequence of operations against that pool, applies them inside a synctest
// bubble, and after every operation, once the pool is quiet, checks the
// invariants the pool promises: the accounting identity, every gauge within
// its bounds, never more than max tasks running, and every accepted task
// ending exactly once with the outcome its function earned. At the end it
// releases everything, shuts the pool down and checks that nothing is left.
//
// Time is fake and every blocking task waits on its own release channel, so
// an input replays the same way; on failure the test prints the decoded
// operation trace; FUZZTRACE=1 prints it for passing inputs too. The seeds
// (below and in testdata/fuzz) run in plain go test.
func FuzzPoolInvariants(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { runFuzz(t, data) })
	})
}

// maxFuzzSteps bounds the operations decoded from one input, so that one
// execution stays short.
const maxFuzzSteps = 64

var (
	errFuzzFail     = errors.New("fuzz: task failed")
	errFuzzPanic    = errors.New("fuzz: task panicked")
	errSubmitCancel = errors.New("fuzz: submit ctx canceled")
)

// A bodyKind is what a task's function does.
type bodyKind uint8

const (
	bodySucceed     bodyKind = iota
	bodyFail                 // returns errFuzzFail at once
	bodyPanic                // panics with errFuzzPanic
	bodyGoexit               // calls runtime.Goexit
	bodyBlockCtx             // waits for its release or its ctx
	bodyBlockIgnore          // waits for its release only
	bodyNested               // submits a child task into the same pool
	numBodyKinds
)

var bodyNames = [...]string{
	"succeed", "fail", "panic", "goexit", "block-ctx", "block-ignore-ctx", "nested",
}

func (k bodyKind) String() string { return bodyNames[k] }

// childKinds are the bodies a nested task's child may have. A child never
// nests again and has no timeout of its own, so a deadline in its context
// can only come from its parent's.
var childKinds = [...]bodyKind{bodySucceed, bodyFail, bodyPanic, bodyBlockCtx}

var fuzzPriorities = [...]workerpool.Priority{
	workerpool.PriorityNormal, workerpool.PriorityLow, workerpool.PriorityHigh,
	workerpool.PriorityCritical, math.MinInt, math.MaxInt, -1, 15,
}

var (
	fuzzTimeouts  = [...]time.Duration{0, time.Millisecond, 3 * time.Millisecond}
	fuzzIdle      = [...]time.Duration{0, time.Millisecond, time.Second}
	fuzzDeadlines = [...]time.Duration{0, time.Millisecond, 5 * time.Millisecond, time.Second}
	fuzzAdvances  = [...]time.Duration{
		time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
		5 * time.Millisecond, 100 * time.Millisecond, time.Second, 10 * time.Second,
	}
)

// fuzzOp is an operation on the pool.
type fuzzOp uint8

const (
	opSubmit fuzzOp = iota
	opTrySubmit
	opCancel        // Task.Cancel
	opCancelCtx     // cancel the Submit ctx
	opRelease       // release a blocking task
	opAdvance       // advance fake time
	opSetNumWorkers // pin the size
	opResumeScaling // hand sizing back
	opStats         // Stats and Health, also as JSON
	opShutdown      // with or without a deadline
)

var opNames = [...]string{
	"Submit", "TrySubmit", "Cancel", "CancelCtx", "Release", "Advance",
	"SetNumWorkers", "ResumeScaling", "Stats", "Shutdown",
}

// opTable maps an operation byte (mod 16) to an operation. Submits come up
// most, so that random inputs build a backlog before the pool shuts down.
var opTable = [16]fuzzOp{
	opSubmit, opSubmit, opSubmit, opTrySubmit, opTrySubmit,
	opCancel, opCancelCtx, opRelease, opRelease, opRelease,
	opAdvance, opAdvance, opSetNumWorkers, opResumeScaling, opStats, opShutdown,
}

// fuzzInput hands out the bytes of a fuzz input, and zeros once they run
// out, so that every input decodes.
type fuzzInput struct{ data []byte }

func (in *fuzzInput) more() bool { return len(in.data) > 0 }

func (in *fuzzInput) next() byte {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return b
}

// fuzzConfig is the pool configuration decoded from the first two bytes.
type fuzzConfig struct {
	min, max, queue, depth int
	idle                   time.Duration
	aging                  bool
}

func decodeConfig(in *fuzzInput) fuzzConfig {
	a, b := in.next(), in.next()
	c := fuzzConfig{
		min:   int(a % 3),
		max:   1 + int(a/3%4),
		queue: int(b % 5),
		depth: 1 + int(b/5%3),
		idle:  fuzzIdle[b/15%3],
		aging: b/45%2 == 1,
	}
	c.max = max(c.max, c.min)
	return c
}

// encode is the inverse of decodeConfig, for the seeds.
func (c fuzzConfig) encode() []byte {
	idle := 0
	for i, d := range fuzzIdle {
		if d == c.idle {
			idle = i
		}
	}
	aging := 0
	if c.aging {
		aging = 1
	}
	return []byte{
		byte(c.min + 3*(c.max-1)),
		byte(c.queue + 5*(c.depth-1) + 15*idle + 45*aging),
	}
}

func (c fuzzConfig) options() []workerpool.Option {
	opts := []workerpool.Option{
		workerpool.WithMinWorkers(c.min), workerpool.WithMaxWorkers(c.max),
		workerpool.WithQueueSize(c.queue), workerpool.WithWorkerDepth(c.depth),
		workerpool.WithIdleTimeout(c.idle),
	}
	if c.aging {
		opts = append(opts, workerpool.WithAging(time.Millisecond))
	}
	return opts
}

func (c fuzzConfig) String() string {
	return fmt.Sprintf("min=%d max=%d queue=%d depth=%d idle=%v aging=%v",
		c.min, c.max, c.queue, c.depth, c.idle, c.aging)
}

// taskSpec is a submitted task as decoded from two bytes.
type taskSpec struct {
	kind     bodyKind
	relErr   bool // a released blocking body returns errFuzzFail
	prio     int  // index into fuzzPriorities
	timeout  int  // index into fuzzTimeouts
	child    int  // nested: index into childKinds
	childTry bool // nested: the child goes in with TrySubmit, not Submit
	hold     bool // nested: after submitting, block like bodyBlockCtx
}

func decodeSpec(a, b byte) taskSpec {
	f, g := a/7, b/8
	return taskSpec{
		kind: bodyKind(a % 7), relErr: f&1 == 1, childTry: f>>1&1 == 1, child: int(f>>2) % 4,
		prio: int(b % 8), timeout: int(g % 3), hold: g/3%2 == 1,
	}
}

func (s taskSpec) encode() (a, b byte) {
	f := b2i(s.relErr) + 2*b2i(s.childTry) + 4*s.child
	return byte(int(s.kind) + 7*f), byte(s.prio + 8*(s.timeout+3*b2i(s.hold)))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fuzzStep is one decoded operation with its argument bytes.
type fuzzStep struct {
	op   fuzzOp
	a, b byte
}

func (in *fuzzInput) step() fuzzStep {
	st := fuzzStep{op: opTable[in.next()%16]}
	switch st.op {
	case opSubmit, opTrySubmit:
		st.a, st.b = in.next(), in.next()
	case opResumeScaling, opStats:
	default:
		st.a = in.next()
	}
	return st
}

// encode is the inverse of fuzzInput.step, for the seeds.
func (st fuzzStep) encode() []byte {
	code := 0
	for i, op := range opTable {
		if op == st.op {
			code = i
			break
		}
	}
	switch st.op {
	case opSubmit, opTrySubmit:
		return []byte{byte(code), st.a, st.b}
	case opResumeScaling, opStats:
		return []byte{byte(code)}
	}
	return []byte{byte(code), st.a}
}

// submitState is where a task's Submit call is.
type submitState uint8

const (
	submitNone     submitState = iota // not made (a child whose parent has not run)
	submitPending                     // in flight: blocked for room, for a quiet pool
	submitAccepted                    // returned a handle
	submitRefused                     // returned an error
)

// fuzzTask is the model of one task: what it was asked to do, what its
// function did, and what the driver did to it.
type fuzzTask struct {
	id      int
	spec    taskSpec
	kind    bodyKind
	prio    workerpool.Priority
	timeout time.Duration
	try     bool
	parent  *fuzzTask     // the task whose body submits this one, or nil
	child   *fuzzTask     // the task this one's nested body submits, or nil
	release chan struct{} // closed to release a blocking body, or nil
	cancel  context.CancelCauseFunc

	// Read and written by the driver only.
	released    bool
	canceled    bool               // Task.Cancel was called
	ctxCanceled bool               // the Submit ctx was canceled
	final       workerpool.Outcome // the final outcome once seen, else pending
	blocked     bool               // its Submit blocked
	reported    bool               // its Submit's result is in the trace

	// Guarded by fuzzRun.mu.
	state     submitState
	task      *workerpool.Task
	submitErr error
	runs      int             // times the function started
	returned  bool            // the function has returned, panicked or exited
	ret       error           // what it returned
	ctxErr    error           // its ctx's Err when it returned
	cause     error           // context.Cause of its ctx when it returned
	panicked  bool            // it panicked
	goexit    bool            // it called runtime.Goexit
	runCtx    context.Context // the ctx it ran with
	inSubmit  bool            // a nested body is inside Submit
	nestedErr error           // what a nested body's Submit returned
}

func (ft *fuzzTask) String() string { return fmt.Sprintf("t%d", ft.id) }

func (ft *fuzzTask) options() []workerpool.TaskOption {
	return []workerpool.TaskOption{
		workerpool.WithPriority(ft.prio), workerpool.WithTimeout(ft.timeout),
		workerpool.WithSize(int64(ft.id)),
	}
}

// fuzzShutdown is one Shutdown call, run in its own goroutine.
type fuzzShutdown struct {
	id       int
	deadline time.Time // zero for none
	logged   bool

	// Guarded by fuzzRun.mu.
	done    bool
	err     error
	workers int   // NumWorkers right after it returned
	undone  []int // accepted tasks whose Done was open when it returned
}

// fuzzRun drives one pool through one decoded input and checks it.
type fuzzRun struct {
	t     *testing.T
	cfg   fuzzConfig
	p     *workerpool.Pool
	trace strings.Builder
	last  workerpool.Stats // at the last quiet check

	// Model state, driver only.
	step      int
	pinned    bool
	target    int
	closing   bool // Shutdown began
	forced    bool // a Shutdown's ctx ended first, so waiting tasks may be dropped
	broken    bool // an invariant failed: apply no more operations
	unsettled bool // the last operation did not wait for a quiet pool
	settled   bool // the current operation began on a quiet pool
	down      bool // a Shutdown returned nil: little is left to explore
	afterDown int  // steps applied since
	shutdowns []*fuzzShutdown

	mu         sync.Mutex
	tasks      []*fuzzTask // in order of creation
	calls      uint64      // Submit and TrySubmit calls made
	refused    uint64      // calls that returned an error
	running    int         // functions running now
	maxRunning int
}

func runFuzz(t *testing.T, data []byte) {
	in := &fuzzInput{data: data}
	r := &fuzzRun{t: t, cfg: decodeConfig(in)}
	r.logf("config %v", r.cfg)
	defer func() {
		if t.Failed() || os.Getenv("FUZZTRACE") != "" {
			t.Logf("operation trace:\n%s", r.trace.String())
		}
	}()
	p, err := workerpool.New(r.cfg.options()...)
	if err != nil {
		t.Fatalf("New(%v): %v", r.cfg, err)
	}
	r.p = p
	synctest.Wait()
	r.check()
	for ; r.step < maxFuzzSteps && in.more() && !r.broken && r.afterDown < 3; r.step++ {
		if r.apply(in.step()); r.unsettled {
			continue
		}
		r.check()
		if r.down {
			r.afterDown++
		}
	}
	r.finish()
}

func (r *fuzzRun) logf(format string, args ...any) {
	fmt.Fprintf(&r.trace, format, args...)
	r.trace.WriteByte('\n')
}

// failf records a broken invariant; the run stops applying operations and
// goes on to release everything and shut down.
func (r *fuzzRun) failf(format string, args ...any) {
	r.t.Helper()
	msg := fmt.Sprintf(format, args...)
	r.logf("    VIOLATION: %s", msg)
	r.t.Errorf("step %d: %s", r.step, msg)
	r.broken = true
}

// apply applies one operation and waits for the pool to be quiet, except
// after an unsettled Advance: then the next operation runs at the instant
// the timers fire, racing what they wake, and the checks that predict its
// result from the last quiet state are skipped.
func (r *fuzzRun) apply(st fuzzStep) {
	prefix := fmt.Sprintf("%2d %s", r.step, opNames[st.op])
	r.settled, r.unsettled = !r.unsettled, false
	switch st.op {
	case opSubmit, opTrySubmit:
		r.submit(prefix, st.op == opTrySubmit, decodeSpec(st.a, st.b))
	case opCancel:
		r.cancelTask(prefix, st.a)
	case opCancelCtx:
		r.cancelCtx(prefix, st.a)
	case opRelease:
		r.release(prefix, st.a)
	case opAdvance:
		d := fuzzAdvances[int(st.a)%len(fuzzAdvances)]
		r.unsettled = st.a/8%2 == 1
		r.logf("%s %v (unsettled %v)", prefix, d, r.unsettled)
		time.Sleep(d)
		if !r.unsettled {
			synctest.Wait()
		}
	case opSetNumWorkers:
		r.setNumWorkers(prefix, int(st.a%6))
	case opResumeScaling:
		r.logf("%s", prefix)
		r.p.ResumeScaling()
		if !r.closing {
			r.pinned = false
		}
		synctest.Wait()
	case opStats:
		r.stats(prefix)
	case opShutdown:
		r.shutdown(prefix, fuzzDeadlines[int(st.a)%len(fuzzDeadlines)])
	}
	if !r.unsettled {
		// An operation that found nothing to do has not waited yet.
		synctest.Wait()
	}
}

// newTask adds a task to the model; a nested task gets its child too, so
// that task numbers do not depend on when bodies run.
func (r *fuzzRun) newTask(spec taskSpec, kind bodyKind, try bool, parent *fuzzTask) *fuzzTask {
	r.mu.Lock()
	defer r.mu.Unlock()
	ft := &fuzzTask{
		id: len(r.tasks), spec: spec, kind: kind, try: try, parent: parent,
		prio: fuzzPriorities[spec.prio],
	}
	if parent == nil {
		ft.timeout = fuzzTimeouts[spec.timeout]
	}
	blocks := kind == bodyBlockCtx || kind == bodyBlockIgnore
	if blocks || kind == bodyNested && spec.hold {
		ft.release = make(chan struct{})
	}
	r.tasks = append(r.tasks, ft)
	return ft
}

func (r *fuzzRun) describe(ft *fuzzTask) string {
	s := fmt.Sprintf("%v %v prio=%v timeout=%v", ft, ft.kind, ft.prio, ft.timeout)
	if ft.release != nil {
		s += fmt.Sprintf(" relErr=%v", ft.spec.relErr)
	}
	if c := ft.child; c != nil {
		s += fmt.Sprintf(" hold=%v child=%v(%v try=%v)", ft.spec.hold, c, c.kind, c.try)
	}
	return s
}

// room reports whether the pool, as s shows it, takes a new task at once:
// no Submit is blocked, and a worker is idle, one may start, or the queue
// has room.
func (r *fuzzRun) room(s workerpool.Stats) bool { return s.Blocked == 0 && r.space(s) }

// space reports whether, as s shows it, a worker is idle, one may start, or
// the queue has room.
func (r *fuzzRun) space(s workerpool.Stats) bool {
	limit := r.cfg.max
	if r.pinned {
		limit = r.target
	}
	return s.Busy < s.Workers || s.Workers < limit || s.Queued < r.cfg.queue
}

// submit makes a Submit or TrySubmit call in its own goroutine, so that a
// call that blocks does not hang the driver, and checks where it stands
// once the pool is quiet.
func (r *fuzzRun) submit(prefix string, try bool, spec taskSpec) {
	ft := r.newTask(spec, spec.kind, try, nil)
	if ft.kind == bodyNested {
		ft.child = r.newTask(spec, childKinds[spec.child], spec.childTry, ft)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	ft.cancel = cancel
	room := r.room(r.last)
	r.mu.Lock()
	ft.state = submitPending
	r.calls++
	r.mu.Unlock()
	go func() {
		submit := r.p.Submit
		if try {
			submit = r.p.TrySubmit
		}
		task, err := submit(ctx, r.body(ft), ft.options()...)
		r.recordSubmit(ft, task, err)
	}()
	synctest.Wait()

	r.mu.Lock()
	state, err := ft.state, ft.submitErr
	r.mu.Unlock()
	r.logf("%s %s -> %s", prefix, r.describe(ft), submitResult(state, err))
	switch {
	case r.closing:
		if state != submitRefused || !errors.Is(err, workerpool.ErrClosed) {
			r.failf("%v after Shutdown: got %s, want ErrClosed", ft, submitResult(state, err))
		}
	case !r.settled:
		if state == submitRefused && (!try || !errors.Is(err, workerpool.ErrQueueFull)) {
			r.failf("%v: got %s, want accepted, blocked or ErrQueueFull",
				ft, submitResult(state, err))
		}
	case room && state != submitAccepted:
		r.failf("%v: got %s, want accepted (the pool had room: %s)",
			ft, submitResult(state, err), gauges(r.last))
	case !room && try && (state != submitRefused || !errors.Is(err, workerpool.ErrQueueFull)):
		r.failf("TrySubmit %v: got %s, want ErrQueueFull (no room: %s)",
			ft, submitResult(state, err), gauges(r.last))
	case !room && !try && state != submitPending:
		r.failf("Submit %v: got %s, want it blocked (no room: %s)",
			ft, submitResult(state, err), gauges(r.last))
	}
	ft.blocked = state == submitPending
	ft.reported = !ft.blocked
}

func submitResult(state submitState, err error) string {
	switch state {
	case submitPending:
		return "blocked"
	case submitAccepted:
		return "accepted"
	case submitRefused:
		return fmt.Sprintf("refused (%v)", err)
	}
	return "not submitted"
}

func gauges(s workerpool.Stats) string {
	return fmt.Sprintf("workers=%d busy=%d queued=%d blocked=%d pinned=%v",
		s.Workers, s.Busy, s.Queued, s.Blocked, s.Pinned)
}

func (r *fuzzRun) recordSubmit(ft *fuzzTask, task *workerpool.Task, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		ft.state, ft.submitErr = submitRefused, err
		r.refused++
		return
	}
	ft.state, ft.task = submitAccepted, task
}

// body returns the function of ft. It records what the function does
// under r.mu and never holds r.mu while it blocks.
func (r *fuzzRun) body(ft *fuzzTask) func(context.Context) error {
	return func(ctx context.Context) (err error) {
		r.enter(ft, ctx)
		defer func() { r.leave(ft, ctx, err) }()
		switch ft.kind {
		case bodyFail:
			return errFuzzFail
		case bodyPanic:
			r.mark(&ft.panicked)
			panic(errFuzzPanic)
		case bodyGoexit:
			r.mark(&ft.goexit)
			runtime.Goexit()
		case bodyBlockCtx:
			return ft.block(ctx, true)
		case bodyBlockIgnore:
			return ft.block(ctx, false)
		case bodyNested:
			r.submitChild(ctx, ft)
			if ft.spec.hold {
				return ft.block(ctx, true)
			}
		}
		return nil
	}
}

// block waits for ft's release, and for ctx too when honour is set. A
// released task returns errFuzzFail when its spec says so; one whose ctx
// ended returns the ctx's cause.
func (ft *fuzzTask) block(ctx context.Context, honour bool) error {
	var done <-chan struct{}
	if honour {
		done = ctx.Done()
	}
	select {
	case <-ft.release:
		if ft.spec.relErr {
			return errFuzzFail
		}
		return nil
	case <-done:
		return context.Cause(ctx)
	}
}

func (r *fuzzRun) enter(ft *fuzzTask, ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ft.runs++
	ft.runCtx = ctx
	r.running++
	r.maxRunning = max(r.maxRunning, r.running)
}

func (r *fuzzRun) leave(ft *fuzzTask, ctx context.Context, err error) {
	ctxErr, cause := ctx.Err(), context.Cause(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	ft.returned, ft.ret, ft.ctxErr, ft.cause = true, err, ctxErr, cause
	r.running--
}

func (r *fuzzRun) mark(flag *bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*flag = true
}

// submitChild submits ft's child with ft's own ctx. Made from inside a
// task, the call must never block: it returns ErrQueueFull instead.
func (r *fuzzRun) submitChild(ctx context.Context, ft *fuzzTask) {
	c := ft.child
	r.mu.Lock()
	ft.inSubmit = true
	c.state = submitPending
	r.calls++
	r.mu.Unlock()
	submit := r.p.Submit
	if c.try {
		submit = r.p.TrySubmit
	}
	task, err := submit(ctx, r.body(c), c.options()...)
	r.mu.Lock()
	ft.inSubmit, ft.nestedErr = false, err
	r.mu.Unlock()
	r.recordSubmit(c, task, err)
}

// accepted returns the tasks with a handle, in order.
func (r *fuzzRun) accepted() []*fuzzTask {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*fuzzTask
	for _, ft := range r.tasks {
		if ft.state == submitAccepted {
			out = append(out, ft)
		}
	}
	return out
}

func (r *fuzzRun) cancelTask(prefix string, pick byte) {
	cands := r.accepted()
	if len(cands) == 0 {
		r.logf("%s: no task", prefix)
		return
	}
	ft := cands[int(pick)%len(cands)]
	before := ft.task.Outcome()
	ft.canceled = true
	ft.task.Cancel()
	synctest.Wait()
	after := ft.task.Outcome()
	r.logf("%s %v (%v -> %v)", prefix, ft, before, after)
	switch {
	case !r.settled:
	case before == workerpool.OutcomePending && after != workerpool.OutcomeCanceled:
		r.failf("Cancel of waiting %v: got %v, want canceled", ft, after)
	case before.Final() && after != before:
		r.failf("Cancel of ended %v changed its outcome from %v to %v", ft, before, after)
	}
}

func (r *fuzzRun) cancelCtx(prefix string, pick byte) {
	var cands []*fuzzTask
	r.mu.Lock()
	for _, ft := range r.tasks {
		live := ft.state == submitPending || ft.state == submitAccepted
		if ft.cancel != nil && !ft.ctxCanceled && live {
			cands = append(cands, ft)
		}
	}
	r.mu.Unlock()
	if len(cands) == 0 {
		r.logf("%s: no task", prefix)
		return
	}
	ft := cands[int(pick)%len(cands)]
	r.mu.Lock()
	state := ft.state
	r.mu.Unlock()
	before := workerpool.OutcomePending
	if ft.task != nil {
		before = ft.task.Outcome()
	}
	ft.ctxCanceled = true
	ft.cancel(errSubmitCancel)
	synctest.Wait()

	r.mu.Lock()
	after, err := ft.state, ft.submitErr
	r.mu.Unlock()
	switch {
	case state == submitPending:
		r.logf("%s %v (blocked Submit -> %s)", prefix, ft, submitResult(after, err))
		if r.settled && (after != submitRefused || !errors.Is(err, context.Canceled)) {
			r.failf("blocked Submit of %v after its ctx ended: got %s, want context.Canceled",
				ft, submitResult(after, err))
		}
	default:
		oc := ft.task.Outcome()
		r.logf("%s %v (%v -> %v)", prefix, ft, before, oc)
		if r.settled && before == workerpool.OutcomePending && oc != workerpool.OutcomeCanceled {
			r.failf("waiting %v after its Submit ctx ended: got %v, want canceled", ft, oc)
		}
	}
}

func (r *fuzzRun) release(prefix string, pick byte) {
	var cands []*fuzzTask
	r.mu.Lock()
	for _, ft := range r.tasks {
		if ft.release != nil && !ft.released && ft.state != submitRefused {
			cands = append(cands, ft)
		}
	}
	r.mu.Unlock()
	if len(cands) == 0 {
		r.logf("%s: no task", prefix)
		return
	}
	ft := cands[int(pick)%len(cands)]
	r.logf("%s %v", prefix, ft)
	ft.released = true
	close(ft.release)
	synctest.Wait()
}

func (r *fuzzRun) setNumWorkers(prefix string, n int) {
	got := r.p.SetNumWorkers(n)
	want := min(max(n, r.cfg.min), r.cfg.max)
	r.logf("%s(%d) = %d", prefix, n, got)
	if got != want {
		r.failf("SetNumWorkers(%d) = %d, want %d", n, got, want)
	}
	if !r.closing {
		r.pinned, r.target = true, got
	}
	synctest.Wait()
}

func (r *fuzzRun) stats(prefix string) {
	s, h := r.p.Stats(), r.p.Health()
	r.logf("%s: %s health=%v %v", prefix, gauges(s), h.Status, h.Reasons)
	if _, err := json.Marshal(s); err != nil {
		r.failf("Stats JSON: %v", err)
	}
	if _, err := json.Marshal(h); err != nil {
		r.failf("Health JSON: %v", err)
	}
	synctest.Wait()
}

// shutdown calls Shutdown in its own goroutine, since it waits for the
// blocked tasks that later operations may release.
func (r *fuzzRun) shutdown(prefix string, d time.Duration) {
	sd := &fuzzShutdown{id: len(r.shutdowns)}
	if d > 0 {
		sd.deadline = time.Now().Add(d)
	}
	r.shutdowns = append(r.shutdowns, sd)
	r.closing, r.pinned = true, false
	r.logf("%s #%d deadline=%v", prefix, sd.id, d)
	go func() {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if d > 0 {
			ctx, cancel = context.WithDeadline(ctx, sd.deadline)
		}
		err := r.p.Shutdown(ctx)
		cancel()
		n := r.p.NumWorkers()
		r.mu.Lock()
		defer r.mu.Unlock()
		sd.done, sd.err, sd.workers = true, err, n
		for _, ft := range r.tasks {
			if ft.task != nil && !isClosed(ft.task.Done()) {
				sd.undone = append(sd.undone, ft.id)
			}
		}
	}()
	synctest.Wait()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// check checks every invariant of a quiet pool against the model.
func (r *fuzzRun) check() {
	r.t.Helper()
	s, h, n := r.p.Stats(), r.p.Health(), r.p.NumWorkers()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkShutdowns()
	r.checkTasks(s)
	r.checkGauges(s, n)
	r.checkHealth(s, h)
	r.last = s
}

// checkShutdowns checks the Shutdown calls made so far.
func (r *fuzzRun) checkShutdowns() {
	for _, sd := range r.shutdowns {
		if !sd.done {
			if !sd.deadline.IsZero() && !time.Now().Before(sd.deadline) {
				r.failf("Shutdown #%d still waits past its deadline", sd.id)
			}
			continue
		}
		if !sd.logged {
			sd.logged = true
			r.logf("    Shutdown #%d returned %v (workers=%d)", sd.id, sd.err, sd.workers)
		}
		switch {
		case sd.err == nil && sd.workers != 0:
			r.failf("Shutdown #%d returned nil with %d workers", sd.id, sd.workers)
		case sd.err == nil && len(sd.undone) > 0:
			r.failf("Shutdown #%d returned nil before tasks %v ended", sd.id, sd.undone)
		case sd.err != nil && (sd.deadline.IsZero() ||
			!errors.Is(sd.err, context.DeadlineExceeded)):
			r.failf("Shutdown #%d: got %v, want nil or its deadline", sd.id, sd.err)
		case sd.err != nil:
			r.forced = true
		default:
			r.down = true
		}
	}
}

// tally counts the accepted tasks by outcome.
type tally struct {
	accepted, blocked int
	outcomes          [workerpool.OutcomeDropped + 1]uint64
	bytes             uint64
}

// checkTasks checks every task's handle against what its function did, and
// the pool's counters against the tally. r.mu is held.
func (r *fuzzRun) checkTasks(s workerpool.Stats) {
	var tl tally
	for _, ft := range r.tasks {
		if ft.inSubmit {
			r.failf("the Submit inside %v blocks; want ErrQueueFull instead", ft)
		}
		switch ft.state {
		case submitPending:
			if ft.parent != nil {
				r.failf("the Submit of child %v blocks", ft)
			}
			tl.blocked++
			continue
		case submitRefused:
			r.checkRefusedChild(ft)
			r.reportSubmit(ft, submitResult(ft.state, ft.submitErr))
			continue
		case submitNone:
			continue
		}
		r.reportSubmit(ft, "accepted")
		tl.accepted++
		oc := ft.task.Outcome()
		if int(oc) >= len(tl.outcomes) || oc < 0 {
			r.failf("%v: outcome %v out of range", ft, oc)
			continue
		}
		tl.outcomes[oc]++
		if oc == workerpool.OutcomeSucceeded {
			tl.bytes += uint64(ft.id)
		}
		r.checkTask(ft, oc)
	}
	r.checkCounters(s, tl)
}

// reportSubmit logs the result of a Submit not yet in the trace: a
// child's, or a blocked one's that has returned since.
func (r *fuzzRun) reportSubmit(ft *fuzzTask, result string) {
	switch {
	case ft.reported:
	case ft.parent != nil:
		r.logf("    %v's Submit of child %v -> %s", ft.parent, r.describe(ft), result)
	case ft.blocked:
		r.logf("    %v's blocked Submit -> %s", ft, result)
	}
	ft.reported = true
}

// checkRefusedChild checks the error a nested Submit got.
func (r *fuzzRun) checkRefusedChild(ft *fuzzTask) {
	if ft.parent == nil || ft.reported {
		return
	}
	for _, want := range []error{
		workerpool.ErrQueueFull, workerpool.ErrClosed,
		context.Canceled, context.DeadlineExceeded,
	} {
		if errors.Is(ft.submitErr, want) {
			return
		}
	}
	r.failf("the Submit of child %v: unexpected error %v", ft, ft.submitErr)
}

// checkTask checks one accepted task. r.mu is held.
func (r *fuzzRun) checkTask(ft *fuzzTask, oc workerpool.Outcome) {
	done := isClosed(ft.task.Done())
	switch {
	case oc.Final() && !done:
		r.failf("%v: outcome %v but Done is open", ft, oc)
	case !oc.Final() && done:
		r.failf("%v: Done is closed but the outcome is %v", ft, oc)
	case ft.runs > 1:
		r.failf("%v: its function ran %d times", ft, ft.runs)
	case oc == workerpool.OutcomePending && ft.runs != 0:
		r.failf("%v: pending, but its function ran", ft)
	case oc == workerpool.OutcomeRunning && (ft.runs != 1 || ft.returned):
		r.failf("%v: running, but its function ran %d times, returned %v",
			ft, ft.runs, ft.returned)
	case !oc.Final():
	case ft.final == workerpool.OutcomePending:
		ft.final = oc
		err := ft.task.Err()
		r.logf("    %v ended %v after %d runs (%v)", ft, oc, ft.runs, firstLine(err))
		r.checkEnd(ft, oc, err)
	case oc != ft.final:
		r.failf("%v: outcome changed from %v to %v", ft, ft.final, oc)
	}
}

func firstLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// checkEnd checks that a task ended with the outcome and error its function
// earned. r.mu is held.
func (r *fuzzRun) checkEnd(ft *fuzzTask, oc workerpool.Outcome, err error) {
	want, ok := r.wantEnd(ft, oc)
	if !ok {
		r.failf("%v (%v, ran %d, returned %v, ctx err %v): got outcome %v, want %s",
			ft, ft.kind, ft.runs, ft.ret, ft.ctxErr, oc, want)
		return
	}
	var pe *workerpool.PanicError
	switch {
	case ft.ctxErr != nil && ft.cause == nil:
		// The context package's contract: a cancelled ctx has a cause.
		r.failf("%v: its ctx was cancelled (%v) but context.Cause returned nil", ft, ft.ctxErr)
	case oc == workerpool.OutcomeDropped && !errors.Is(err, workerpool.ErrDropped):
		r.failf("%v dropped with error %v, want ErrDropped", ft, err)
	case ft.runs == 0 && oc == workerpool.OutcomeCanceled &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		r.failf("%v canceled before it ran with error %v, want a ctx error", ft, err)
	case ft.goexit && !errors.Is(err, workerpool.ErrGoexit):
		r.failf("%v called Goexit; got error %v, want ErrGoexit", ft, err)
	case ft.panicked && (!errors.As(err, &pe) || pe.Value != errFuzzPanic ||
		!errors.Is(err, errFuzzPanic)):
		r.failf("%v panicked; got error %v, want a *PanicError of errFuzzPanic", ft, err)
	case ft.runs == 1 && !ft.panicked && !ft.goexit && err != ft.ret:
		r.failf("%v: got error %v, want %v, which its function returned", ft, err, ft.ret)
	}
}

// wantEnd returns the outcomes ft may have ended with, and whether oc is
// one of them. r.mu is held.
func (r *fuzzRun) wantEnd(ft *fuzzTask, oc workerpool.Outcome) (string, bool) {
	switch {
	case ft.runs == 0:
		// A task that never ran was ended by a cancellation or dropped by
		// a forced Shutdown, and by nothing else.
		canceled := ft.canceled || ft.ctxCanceled ||
			ft.parent != nil && ft.parent.runCtx != nil && ft.parent.runCtx.Err() != nil
		switch {
		case oc == workerpool.OutcomeCanceled && canceled:
		case oc == workerpool.OutcomeDropped && r.forced:
		default:
			return fmt.Sprintf("canceled (allowed %v) or dropped (allowed %v)",
				canceled, r.forced), false
		}
		return "", true
	case !ft.returned:
		return "no final outcome while the function runs", false
	case ft.panicked || ft.goexit:
		return "panicked", oc == workerpool.OutcomePanicked
	case ft.ret == nil:
		return "succeeded", oc == workerpool.OutcomeSucceeded
	}
	// fn returned an error: failed, unless its ctx had ended by then for a
	// reason other than its own timeout. A top-level task's Submit ctx has
	// no deadline, so a deadline there is its timeout; a child has no
	// timeout, so a deadline in its ctx is its parent's: canceled.
	own := ft.parent == nil && errors.Is(ft.ctxErr, context.DeadlineExceeded)
	if ft.ctxErr == nil || own {
		// A forced Shutdown, or the end of a child's parent, may cancel
		// the ctx between the return and the pool's look at it.
		racy := ft.ctxErr == nil && (r.forced || ft.parent != nil)
		return "failed", oc == workerpool.OutcomeFailed || racy && oc == workerpool.OutcomeCanceled
	}
	return "canceled", oc == workerpool.OutcomeCanceled
}

// checkCounters checks the pool's counters and gauges against the model.
// r.mu is held.
func (r *fuzzRun) checkCounters(s workerpool.Stats, tl tally) {
	type pair struct {
		name      string
		got, want uint64
	}
	oc := tl.outcomes
	for _, c := range []pair{
		{"Submitted", s.Submitted, uint64(tl.accepted)},
		{"Succeeded", s.Succeeded, oc[workerpool.OutcomeSucceeded]},
		{"Failed", s.Failed, oc[workerpool.OutcomeFailed]},
		{"Panicked", s.Panicked, oc[workerpool.OutcomePanicked]},
		{"Canceled", s.Canceled, oc[workerpool.OutcomeCanceled]},
		{"Dropped", s.Dropped, oc[workerpool.OutcomeDropped]},
		{"Rejected", s.Rejected, r.refused},
		{"BytesProcessed", s.BytesProcessed, tl.bytes},
		{"Queued", uint64(s.Queued), oc[workerpool.OutcomePending]},
		{"Busy", uint64(s.Busy), oc[workerpool.OutcomeRunning]},
		{"Busy vs functions running", uint64(s.Busy), uint64(r.running)},
		{"Blocked", uint64(s.Blocked), uint64(tl.blocked)},
	} {
		if c.got != c.want {
			r.failf("Stats.%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	ended := s.Succeeded + s.Failed + s.Panicked + s.Canceled + s.Dropped
	if s.Submitted != ended+uint64(s.Queued)+uint64(s.Busy) {
		r.failf("Submitted %d != ended %d + Queued %d + Busy %d",
			s.Submitted, ended, s.Queued, s.Busy)
	}
	for _, c := range []uint64{
		s.Submitted, s.Succeeded, s.Failed, s.Panicked, s.Canceled, s.Dropped, s.Rejected,
	} {
		if c > r.calls {
			r.failf("a counter, %d, exceeds the %d Submit calls made: wrapped?", c, r.calls)
		}
	}
}

// checkGauges checks that every gauge lies within its bounds. r.mu is held.
func (r *fuzzRun) checkGauges(s workerpool.Stats, n int) {
	c := r.cfg
	lv := s.QueuedByLevel
	for _, v := range []struct {
		ok   bool
		what string
	}{
		{s.Busy >= 0 && s.Queued >= 0 && s.Blocked >= 0, "a gauge is negative"},
		{s.Busy <= s.Workers, "Busy > Workers"},
		{s.Workers <= c.max, "Workers > max"},
		{s.Workers == n, fmt.Sprintf("Workers != NumWorkers() %d", n)},
		{len(s.PerWorker) == s.Workers, "len(PerWorker) != Workers"},
		{s.Queued <= c.queue, "Queued > queue size"},
		{lv.Low+lv.Normal+lv.High+lv.Critical == s.Queued, "QueuedByLevel does not sum to Queued"},
		{s.OldestWait >= 0 && (s.Queued > 0 || s.OldestWait == 0), "OldestWait out of range"},
		{s.MinWorkers == c.min && s.MaxWorkers == c.max, "Min/MaxWorkers differ from the options"},
		{s.SuccessRate >= 0 && s.SuccessRate <= 100, "SuccessRate outside [0, 100]"},
		{s.Utilization >= 0 && s.Utilization <= 100, "Utilization outside [0, 100]"},
		{r.maxRunning <= c.max, fmt.Sprintf("%d functions ran at once", r.maxRunning)},
		// No task waits while a worker is idle, and the scaler grows while
		// tasks wait.
		{s.Queued == 0 || s.Busy == s.Workers, "tasks wait while a worker is idle"},
		{s.Queued == 0 || r.pinned || s.Workers == c.max, "tasks wait below max workers"},
	} {
		if !v.ok {
			r.failf("%s: %s", v.what, statsLine(s))
		}
	}
	if r.closing {
		if s.Blocked != 0 || s.Pinned {
			r.failf("after Shutdown began: %s", statsLine(s))
		}
		return
	}
	for _, v := range []struct {
		ok   bool
		what string
	}{
		{s.Workers >= c.min, "Workers < min"},
		{s.Pinned == r.pinned, fmt.Sprintf("Pinned != %v", r.pinned)},
		{!r.pinned || s.Workers >= r.target, fmt.Sprintf("Workers < pinned %d", r.target)},
		{!r.pinned || s.Workers <= r.target || s.Busy == s.Workers,
			fmt.Sprintf("idle workers above pinned %d", r.target)},
		{s.Blocked == 0 || !r.space(s), "a Submit is blocked while the pool has room"},
	} {
		if !v.ok {
			r.failf("%s: %s", v.what, statsLine(s))
		}
	}
}

func statsLine(s workerpool.Stats) string {
	return fmt.Sprintf("%s submitted=%d succeeded=%d failed=%d panicked=%d canceled=%d "+
		"dropped=%d rejected=%d success=%.1f%% util=%.1f%%", gauges(s), s.Submitted,
		s.Succeeded, s.Failed, s.Panicked, s.Canceled, s.Dropped, s.Rejected,
		s.SuccessRate, s.Utilization)
}

// checkHealth checks Health against Stats taken at the same quiet moment.
func (r *fuzzRun) checkHealth(s workerpool.Stats, h workerpool.Health) {
	for _, v := range []struct {
		ok   bool
		what string
	}{
		{h.Queued == s.Queued && h.Busy == s.Busy && h.Workers == s.Workers,
			"gauges differ from Stats"},
		{h.FailureRate >= 0 && h.FailureRate <= 100, "FailureRate outside [0, 100]"},
		{h.RefusalRate >= 0 && h.RefusalRate <= 100, "RefusalRate outside [0, 100]"},
		{h.Failed <= h.Ran && h.Refused <= h.Submissions, "a part exceeds its whole"},
		{h.OldestWait >= 0 && h.StalledFor >= 0, "a negative duration"},
		{r.closing != (h.State == "running"), fmt.Sprintf("state %q", h.State)},
		{!r.closing || h.Status == workerpool.StatusUnhealthy && !h.Ready,
			"healthy or ready after Shutdown began"},
		{h.Status == workerpool.StatusHealthy || len(h.Reasons) > 0, "no reason given"},
	} {
		if !v.ok {
			r.failf("Health: %s: %+v", v.what, h)
		}
	}
}

// finish releases every blocked task, shuts the pool down with no deadline
// and checks that nothing is left: no worker, no open handle, no Submit in
// flight.
func (r *fuzzRun) finish() {
	r.step = maxFuzzSteps
	r.logf("end: release all, Shutdown with no deadline")
	for _, ft := range r.tasks {
		if ft.release != nil && !ft.released {
			ft.released = true
			close(ft.release)
		}
	}
	synctest.Wait()
	done := make(chan error, 1)
	go func() { done <- r.p.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			r.failf("final Shutdown: %v", err)
		}
	case <-time.After(time.Hour):
		r.failf("final Shutdown did not return within an hour of fake time")
		return
	}
	synctest.Wait()
	r.closing, r.pinned = true, false
	r.check()
	if n := r.p.NumWorkers(); n != 0 {
		r.failf("NumWorkers() = %d after Shutdown, want 0", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ft := range r.tasks {
		switch {
		case ft.state == submitPending:
			r.failf("the Submit of %v is still in flight", ft)
		case ft.state == submitAccepted && !isClosed(ft.task.Done()):
			r.failf("%v: Done is still open", ft)
		}
		if ft.cancel != nil {
			ft.cancel(errSubmitCancel)
		}
	}
	for _, sd := range r.shutdowns {
		if !sd.done {
			r.failf("Shutdown #%d has not returned", sd.id)
		}
	}
	if s := r.last; s.Workers != 0 || s.Busy != 0 || s.Queued != 0 || s.Blocked != 0 {
		r.failf("after Shutdown: %s", statsLine(s))
	}
}

// seedInput encodes a configuration and steps as a fuzz input.
func seedInput(c fuzzConfig, steps ...fuzzStep) []byte {
	b := c.encode()
	for _, st := range steps {
		b = append(b, st.encode()...)
	}
	return b
}

func sub(op fuzzOp, s taskSpec) fuzzStep {
	a, b := s.encode()
	return fuzzStep{op: op, a: a, b: b}
}

func arg(op fuzzOp, a byte) fuzzStep { return fuzzStep{op: op, a: a} }

// fuzzSeeds are hand-written inputs, each aimed at one corner: every body
// kind, a full queue with blocked submitters, cancellation while waiting
// and while running, timeouts, pinning and resuming, nested submits into a
// full pool, and Shutdown with and without a deadline.
func fuzzSeeds() [][]byte {
	one := fuzzConfig{min: 0, max: 1, queue: 1, depth: 1, idle: time.Millisecond}
	blk := taskSpec{kind: bodyBlockCtx}
	ign := taskSpec{kind: bodyBlockIgnore, timeout: 1}
	nest := taskSpec{kind: bodyNested, child: 3, hold: true, timeout: 1}
	return [][]byte{
		// Every body kind through a single worker, then a graceful Shutdown.
		seedInput(one,
			sub(opSubmit, taskSpec{kind: bodySucceed}), sub(opSubmit, taskSpec{kind: bodyFail}),
			sub(opSubmit, taskSpec{kind: bodyPanic}), sub(opSubmit, taskSpec{kind: bodyGoexit}),
			sub(opSubmit, taskSpec{kind: bodyNested}), arg(opShutdown, 0)),
		// A held worker, a waiting task, blocked submitters; cancel the
		// waiting one and a blocked Submit's ctx, then release.
		seedInput(one,
			sub(opSubmit, blk), sub(opSubmit, taskSpec{prio: 2}), sub(opSubmit, taskSpec{}),
			sub(opTrySubmit, taskSpec{}), arg(opCancel, 1), arg(opCancelCtx, 2),
			sub(opSubmit, taskSpec{prio: 3}), arg(opRelease, 0), opStep(opStats)),
		// Timeouts: a ctx-aware and a ctx-ignoring task outlive theirs.
		seedInput(fuzzConfig{max: 2, queue: 2, depth: 1},
			sub(opSubmit, taskSpec{kind: bodyBlockCtx, timeout: 1}), sub(opSubmit, ign),
			arg(opAdvance, 3), arg(opRelease, 0), arg(opAdvance, 4)),
		// Pin to 1 with work waiting, grow to max, hand sizing back, idle out.
		seedInput(fuzzConfig{min: 1, max: 4, queue: 4, depth: 2, idle: time.Millisecond},
			arg(opSetNumWorkers, 1), sub(opSubmit, blk), sub(opSubmit, blk),
			sub(opSubmit, blk), arg(opSetNumWorkers, 5), arg(opRelease, 0),
			arg(opRelease, 0), opStep(opResumeScaling), arg(opRelease, 0), arg(opAdvance, 6)),
		// Shutdown whose deadline passes while a task ignores its ctx and
		// others wait: they are dropped; then release it.
		seedInput(fuzzConfig{max: 1, queue: 3, depth: 1},
			sub(opSubmit, taskSpec{kind: bodyBlockIgnore}), sub(opSubmit, taskSpec{}),
			sub(opSubmit, taskSpec{prio: 4}), sub(opSubmit, blk), arg(opShutdown, 1),
			arg(opAdvance, 4), sub(opSubmit, taskSpec{}), arg(opRelease, 0)),
		// A nested task submits into a full pool and holds; its child waits
		// until the parent's timeout cancels it.
		seedInput(fuzzConfig{max: 2, queue: 1, depth: 1},
			sub(opSubmit, nest), sub(opSubmit, blk), arg(opAdvance, 2), arg(opRelease, 1)),
		// Nested TrySubmit into a hand-off-only pool.
		seedInput(fuzzConfig{max: 1, queue: 0, depth: 1, idle: time.Second},
			sub(opSubmit, taskSpec{kind: bodyNested, childTry: true}),
			sub(opTrySubmit, taskSpec{}), arg(opAdvance, 6)),
		// Aging with prefetch: extreme priorities wait, then drain.
		seedInput(fuzzConfig{min: 2, max: 2, queue: 4, depth: 3, aging: true},
			sub(opSubmit, blk), sub(opSubmit, blk), sub(opSubmit, taskSpec{prio: 4}),
			sub(opSubmit, taskSpec{prio: 5}), sub(opSubmit, taskSpec{prio: 0}),
			sub(opSubmit, taskSpec{prio: 3}), arg(opAdvance, 5), arg(opRelease, 0),
			arg(opRelease, 0), arg(opAdvance, 7)),
		// Cancel running tasks, by handle and by Submit ctx.
		seedInput(fuzzConfig{min: 1, max: 3, queue: 2, depth: 1},
			sub(opSubmit, blk), sub(opSubmit, taskSpec{kind: bodyBlockCtx, relErr: true}),
			sub(opSubmit, ign), arg(opCancel, 0), arg(opCancelCtx, 1), arg(opCancel, 2),
			arg(opRelease, 0), arg(opShutdown, 3)),
		// Shutdown with no deadline waits for the holders; blocked Submits
		// get ErrClosed at once.
		seedInput(fuzzConfig{max: 2, queue: 1, depth: 1},
			sub(opSubmit, blk), sub(opSubmit, blk), sub(opSubmit, taskSpec{}),
			sub(opSubmit, taskSpec{}), arg(opShutdown, 0), arg(opAdvance, 5),
			arg(opRelease, 0), arg(opRelease, 0)),
		// Min workers idling out together never go below min.
		seedInput(fuzzConfig{min: 2, max: 4, queue: 0, depth: 1, idle: time.Millisecond},
			sub(opSubmit, blk), sub(opSubmit, blk), sub(opSubmit, blk), sub(opSubmit, blk),
			arg(opRelease, 0), arg(opRelease, 0), arg(opRelease, 0), arg(opRelease, 0),
			arg(opAdvance, 3), opStep(opStats)),
	}
}

func opStep(op fuzzOp) fuzzStep { return fuzzStep{op: op} }

package preview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
	"dunning/policy"
	"dunning/templates"
	"dunning/workflows"
)

// Payment is a repayment the preview makes: Amount paid at At, reported to
// the workflow at that simulated instant (the repay update, as the API sends
// it). TxnID "" becomes PREVIEW-<n>.
type Payment struct {
	At     time.Time       `json:"at"`
	Amount decimal.Decimal `json:"amount"`
	TxnID  string          `json:"txn_id,omitempty"`
}

// Options say how to preview a loan.
type Options struct {
	// Policy is the policy the loan runs under, resolved by the caller (by
	// name, or parsed from a file); the loan's own policy field is not read.
	Policy policy.Policy
	// Templates renders the notices: the real templates (templates.New).
	Templates *templates.Renderer
	// Brand is what the notices sign with; zero fields take DefaultBrand's.
	Brand activities.Brand
	// Payments are the repayments to make, in any order.
	Payments []Payment
	// Start is when the simulation starts; zero is one minute before the
	// loan's first reminder point.
	Start time.Time
	// lean leaves out what a simulation does not sum (the balance at each
	// point, the rungs not sent), which saves a snapshot per point.
	lean bool
	// reencode hands a continue-as-new's input to the next run as it did
	// first: decoded into a workflows.Input and encoded again, instead of
	// the payload itself. Only the test that shows both give the same
	// preview sets it.
	reencode bool
	// Stuck bounds, in real time, how long one run of the workflow may wait
	// with nothing to do before the preview gives up (a bug, never a slow
	// loan); zero is 30 seconds.
	Stuck time.Duration
}

// DefaultBrand is what notices sign with when Options.Brand is empty:
// internal/config's defaults (DUNNING_BRAND, DUNNING_HOTLINE,
// DUNNING_REPAY_URL unset).
var DefaultBrand = activities.Brand{Name: "安心借", Hotline: "400-800-1234", RepayURL: "https://m.example.cn/repay"}

// MaxRuns bounds the workflow runs (continue-as-new) of one preview: a run
// ends at most once per installment settled, so a loan of policy's
// MaxInstallments installments fits.
const MaxRuns = policy.MaxInstallments + 10

// Actor and reason of the close the preview sends once the loan is charged
// off and no payment is left to make: a charged-off loan's workflow stays
// open for recoveries, and the preview has nothing more to show.
const (
	closeActor  = "preview"
	closeReason = "end of preview: charged off, no payment left to make"
)

// ErrStuck means a run of the workflow waited with nothing to do for longer
// than Options.Stuck: a bug to report, with the loan that shows it.
var ErrStuck = errors.New("preview: the workflow is waiting for nothing")

// Run previews loan l under o: it runs the real LoanWorkflow in the Temporal
// SDK's time-skipping test environment (go.temporal.io/sdk/testsuite) with
// the real activities over an in-memory audit store and a recording sender,
// from a moment before the loan's first reminder point to its payoff, its
// charge-off or its close, following every continue-as-new, and returns what
// happened. Nothing is sent and nothing is written anywhere: no Temporal
// server, no PostgreSQL, no provider, no network connection.
//
// The test environment is the SDK's harness for workflow unit tests, used
// here outside tests on purpose: it is an ordinary package (no testing.T)
// that executes workflow code exactly as a worker does, deterministically,
// and skips the time between timers, so a loan's months pass in
// milliseconds. That is what makes the preview the real thing and not a
// model of it: the timeline shows what this build's workflow decides, with
// this build's policy code and templates.
//
// The loan is not validated here: callers check it as the API does
// (api.CheckLoan). Run returns ctx's error when ctx ends between two runs of
// the workflow.
func Run(ctx context.Context, l policy.Loan, o Options) (*Timeline, error) {
	e, err := newEngine(l, o)
	if err != nil {
		return nil, err
	}
	if err := e.run(ctx, nil); err != nil {
		return nil, err
	}
	return e.timeline()
}

// engine is one preview.
type engine struct {
	loan     policy.Loan
	pol      policy.Policy
	loc      *time.Location
	opts     Options
	start    time.Time
	rec      *recorder
	acts     *activities.Activities
	suite    testsuite.WorkflowTestSuite
	payments []*payment
	runs     int
	result   policy.Snapshot
	closed   bool // the preview sent its close
}

// payment is a Payment and what the workflow answered.
type payment struct {
	Payment
	done   bool
	answer *policy.Snapshot
	err    error
}

func newEngine(l policy.Loan, o Options) (*engine, error) {
	if o.Templates == nil {
		return nil, errors.New("preview: no templates")
	}
	loc, err := l.Location(o.Policy)
	if err != nil {
		return nil, fmt.Errorf("preview loan %s: %w", l.LoanID, err)
	}
	b := o.Brand
	if b.Name == "" {
		b.Name = DefaultBrand.Name
	}
	if b.Hotline == "" {
		b.Hotline = DefaultBrand.Hotline
	}
	if b.RepayURL == "" {
		b.RepayURL = DefaultBrand.RepayURL
	}
	if o.Stuck <= 0 {
		o.Stuck = 30 * time.Second
	}
	rec := newRecorder()
	quiet := slog.New(slog.DiscardHandler) // the activities log every notice: nothing to say here
	e := &engine{loan: l, pol: o.Policy, loc: loc, opts: o, rec: rec,
		acts: &activities.Activities{Store: rec, Senders: rec, Templates: o.Templates, Brand: b, Log: quiet}}
	e.suite.SetLogger(nopLogger{})
	for i, p := range o.Payments {
		if p.TxnID == "" {
			p.TxnID = fmt.Sprintf("PREVIEW-%d", i+1)
		}
		e.payments = append(e.payments, &payment{Payment: p})
	}
	e.start = o.Start
	if e.start.IsZero() {
		e.start, err = firstPoint(l, o.Policy, loc)
		if err != nil {
			return nil, err
		}
		e.start = e.start.Add(-time.Minute)
	}
	return e, nil
}

// firstPoint is the loan's first reminder point as the workflow plans it on
// the day before its first rung: NextPoint on a loan nothing has happened to.
func firstPoint(l policy.Loan, p policy.Policy, loc *time.Location) (time.Time, error) {
	first := l.Installments[0].DueDate
	earliest := 0
	for _, r := range p.Reminders.Ladder {
		earliest = min(earliest, r.Offset)
	}
	asOf := first.AddDays(earliest - 1).Midnight(loc)
	snap, err := policy.SnapshotAt(l, p, policy.History{}, asOf)
	if err != nil {
		return time.Time{}, fmt.Errorf("preview loan %s: %w", l.LoanID, err)
	}
	pt, ok := policy.NextPointUnder(policy.LatestRules, l, p, loc, snap, nil, asOf)
	if !ok {
		return asOf, nil
	}
	return pt.At, nil
}

// run executes the workflow from e.start until it completes, run after run.
// Each run after a continue-as-new starts with the payload the previous run
// handed over, as a server passes it on, not decoded and encoded again
// (Options.reencode): that cost a JSON round trip of the whole state per run.
func (e *engine) run(ctx context.Context, observe Observe) error {
	var in any = workflows.Input{Loan: e.loan, Policy: e.pol}
	start := e.start
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("preview loan %s: %w", e.loan.LoanID, err)
		}
		e.runs++
		if e.runs > MaxRuns {
			return fmt.Errorf("preview loan %s: more than %d runs of the workflow", e.loan.LoanID, MaxRuns)
		}
		env, err := e.execute(in, start, observe)
		if err != nil {
			return err
		}
		werr := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(werr, &can) {
			next, err := e.nextInput(can)
			if err != nil {
				return err
			}
			in, start = next, env.Now()
			continue
		}
		if werr != nil {
			return fmt.Errorf("preview loan %s: the workflow failed: %w", e.loan.LoanID, werr)
		}
		if err := env.GetWorkflowResult(&e.result); err != nil {
			return fmt.Errorf("preview loan %s: result: %w", e.loan.LoanID, err)
		}
		return nil
	}
}

// nextInput is the input of the run after continue-as-new can: its payload
// as it is (a converter.RawValue), or with Options.reencode decoded into a
// workflows.Input.
func (e *engine) nextInput(can *workflow.ContinueAsNewError) (any, error) {
	payloads := can.Input.GetPayloads()
	if e.opts.reencode || len(payloads) != 1 {
		var next workflows.Input
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
			return nil, fmt.Errorf("preview loan %s: continue-as-new input: %w", e.loan.LoanID, err)
		}
		return next, nil
	}
	return converter.NewRawValue(payloads[0]), nil
}

// execute runs one run of the workflow in a new test environment, with in
// (a workflows.Input, or a continue-as-new's payload as a converter.RawValue)
// as its input. The workflow is named by its type (WorkflowType), not passed
// as a function, because the environment would refuse a RawValue for a
// function's workflows.Input parameter. The environment panics when the
// workflow waits for nothing for longer than its test timeout; that becomes
// ErrStuck. Once the run is over, the wall-clock timers the environment
// armed are stopped (wallClockGuard): left running they would keep it in
// memory for days.
func (e *engine) execute(in any, start time.Time, observe Observe) (env *testsuite.TestWorkflowEnvironment, err error) {
	env = e.suite.NewTestWorkflowEnvironment()
	defer guardWallClock(env).stop()
	env.SetStartTime(start)
	env.SetTestTimeout(e.opts.Stuck)
	var h Hooks
	if observe != nil {
		h = observe(e.runs, env)
	}
	// A worker calls a workflow task that runs a second without yielding a
	// deadlock; in a preview sharing the CPU with others (a simulation on
	// every core, a busy API) that is only a slow task, so the bound here is
	// the preview's own.
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: e.opts.Stuck, Interceptors: h.Interceptors})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(e.loan.LoanID), TaskQueue: workflows.TaskQueue})
	workflows.Register(env, e.acts)
	e.rec.setClock(env.Now)
	for _, p := range e.payments {
		if p.done {
			continue
		}
		env.RegisterDelayedCallback(func() { e.pay(env, p) }, max(p.At.Sub(start), 0))
	}
	// Listeners run on the environment's main loop, between workflow tasks.
	env.SetOnActivityCompletedListener(func(info *activity.Info, v converter.EncodedValue, err error) {
		e.maybeEnd(env)
		if h.OnActivityCompleted != nil {
			h.OnActivityCompleted(info, v, err)
		}
	})
	if h.OnLocalActivityCompleted != nil {
		env.SetOnLocalActivityCompletedListener(func(info *activity.Info, v converter.EncodedValue, err error) {
			e.maybeEnd(env)
			h.OnLocalActivityCompleted(info, v, err)
		})
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: loan %s: %v", ErrStuck, e.loan.LoanID, p)
		}
	}()
	env.ExecuteWorkflow(workflows.WorkflowType, in)
	if !env.IsWorkflowCompleted() {
		return nil, fmt.Errorf("%w: loan %s did not complete", ErrStuck, e.loan.LoanID)
	}
	return env, nil
}

// pay sends payment p as the repay update, as the API does, at its instant.
func (e *engine) pay(env *testsuite.TestWorkflowEnvironment, p *payment) {
	p.done = true
	r := policy.Repayment{TxnID: p.TxnID, Amount: p.Amount, PaidAt: p.At}
	env.UpdateWorkflow(workflows.UpdateRepay, "repay/"+p.TxnID, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) {
			p.err = err
			e.maybeEnd(env)
		},
		OnComplete: func(v any, err error) {
			if err != nil {
				p.err = err
			} else if s, ok := v.(policy.Snapshot); ok {
				p.answer = &s
			}
			e.maybeEnd(env)
		},
	}, r)
}

// maybeEnd closes a charged-off loan once every payment has been made: its
// workflow would otherwise wait for recoveries for ever.
func (e *engine) maybeEnd(env *testsuite.TestWorkflowEnvironment) {
	if e.closed || e.rec.chargedOffAt() == nil {
		return
	}
	for _, p := range e.payments {
		if !p.done {
			return
		}
	}
	e.closed = true
	env.SignalWorkflow(workflows.SignalClose, workflows.CloseSignal{Actor: closeActor, Reason: closeReason})
}

// nopLogger keeps the SDK's test environment quiet.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// fakeTemporal is an in-memory Temporal: workflows by id with a status and a
// query answer, and a record of every call.
type fakeTemporal struct {
	mu sync.Mutex

	status   map[string]enumspb.WorkflowExecutionStatus // by workflow id
	snapshot map[string]any                             // status query answer by workflow id
	runs     map[string]string                          // run id by workflow id

	// updateErr, when set, is the error the workflow's validator returns for
	// every update to a running workflow (build it with wfRefusal, as the
	// workflow does). The handle's Get hands it back as the SDK client does:
	// after it crossed the server as a Failure (overTheWire).
	updateErr error
	// answer, when set, is what an accepted update returns; nil answers the
	// loan's snapshot.
	answer any
	// queryErr, when set, is what every status query fails with.
	queryErr error
	// down makes every call fail as an unreachable server does. The call is
	// still recorded: the client made it.
	down bool
	// lostUpdates is how many updates to a running workflow fail as not
	// found, as one sent to a run that just continued as new does.
	lostUpdates int

	starts  []startCall
	updates []client.UpdateWorkflowOptions
	signals []signalCall
	queries int
}

type startCall struct {
	opts  client.StartWorkflowOptions
	input workflows.Input
}

type signalCall struct {
	workflowID, name string
	arg              any
}

func newFakeTemporal() *fakeTemporal {
	return &fakeTemporal{
		status:   map[string]enumspb.WorkflowExecutionStatus{},
		snapshot: map[string]any{},
		runs:     map[string]string{},
	}
}

// add puts a workflow for loanID in the fake with status st and snapshot snap.
func (f *fakeTemporal) add(loanID string, st enumspb.WorkflowExecutionStatus, snap any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := workflows.WorkflowID(loanID)
	f.status[id], f.snapshot[id], f.runs[id] = st, snap, "run-of-"+loanID
}

var errDown = serviceerror.NewUnavailable("connection refused")

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, fmt.Errorf("failed reaching server: %w", errDown)
	}
	if wf != workflows.WorkflowType || len(args) != 1 {
		return nil, fmt.Errorf("fake: unexpected workflow %v with %d args", wf, len(args))
	}
	if st, ok := f.status[opts.ID]; ok {
		if st == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING ||
			opts.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY && st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			if !opts.WorkflowExecutionErrorWhenAlreadyStarted {
				return fakeRun{opts.ID, f.runs[opts.ID]}, nil
			}
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", f.runs[opts.ID])
		}
	}
	f.starts = append(f.starts, startCall{opts, args[0].(workflows.Input)})
	run := fmt.Sprintf("run-%d", len(f.starts))
	f.status[opts.ID], f.runs[opts.ID] = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, run
	return fakeRun{opts.ID, run}, nil
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, opts)
	if f.down {
		return nil, errDown
	}
	st, ok := f.status[opts.WorkflowID]
	switch {
	case !ok:
		return nil, serviceerror.NewNotFound("workflow execution not found")
	case st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return nil, serviceerror.NewNotFound("workflow execution already completed")
	case f.lostUpdates > 0:
		f.lostUpdates--
		return nil, serviceerror.NewNotFound("workflow execution already completed")
	case f.updateErr != nil:
		return fakeHandle{err: overTheWire(f.updateErr)}, nil
	case f.answer != nil:
		return fakeHandle{value: f.answer}, nil
	}
	return fakeHandle{value: f.snapshot[opts.WorkflowID]}, nil
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, workflowID, _ string, queryType string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.down {
		return nil, errDown
	}
	if f.queryErr != nil {
		return nil, f.queryErr
	}
	if queryType != workflows.QueryStatus {
		return nil, serviceerror.NewInvalidArgument("unknown query " + queryType)
	}
	snap, ok := f.snapshot[workflowID]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	return encode(snap)
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, workflowID, _ string, name string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errDown
	}
	if st, ok := f.status[workflowID]; !ok || st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	f.signals = append(f.signals, signalCall{workflowID, name, arg})
	return nil
}

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, workflowID, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, errDown
	}
	st, ok := f.status[workflowID]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: f.runs[workflowID]},
		Status:    st,
	}}, nil
}

func (f *fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	if f.down {
		return nil, errDown
	}
	return &client.CheckHealthResponse{}, nil
}

func (f *fakeTemporal) calls() (starts, updates, signals int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts), len(f.updates), len(f.signals)
}

// encode turns v into what the real client hands back: a JSON payload read
// by the default data converter.
func encode(v any) (converter.EncodedValue, error) {
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		return nil, err
	}
	return encodedValue{p}, nil
}

type encodedValue struct{ p *commonpb.Payload }

func (e encodedValue) HasValue() bool { return e.p != nil }
func (e encodedValue) Get(ptr any) error {
	return converter.GetDefaultDataConverter().FromPayload(e.p, ptr)
}

type fakeRun struct{ id, run string }

func (r fakeRun) GetID() string                  { return r.id }
func (r fakeRun) GetRunID() string               { return r.run }
func (r fakeRun) GetFirstExecutionRunID() string { return r.run }
func (r fakeRun) Get(context.Context, any) error { return errors.New("fake: no result") }
func (r fakeRun) GetWithOptions(context.Context, any, client.WorkflowRunGetOptions) error {
	return errors.New("fake: no result")
}

type fakeHandle struct {
	value any
	err   error
}

func (h fakeHandle) WorkflowID() string { return "" }
func (h fakeHandle) RunID() string      { return "" }
func (h fakeHandle) UpdateID() string   { return "" }
func (h fakeHandle) Get(_ context.Context, ptr any) error {
	if h.err != nil {
		return h.err
	}
	v, err := encode(h.value)
	if err != nil {
		return err
	}
	return v.Get(ptr)
}

// wfRefusal is the error the loan workflow's validators return, built as
// workflows.appError builds it: a non-retryable application error of type
// typ (workflows.ErrTypeRejected, ErrTypeConflict, ErrTypeLoanFinished)
// with err's message, err as its cause and, as its one detail, the fields err
// names ([]policy.FieldError, nil when err is no policy.ValidationError).
func wfRefusal(typ string, err error) error {
	var fields []policy.FieldError
	var v policy.ValidationError
	if errors.As(err, &v) {
		fields = []policy.FieldError(v)
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), typ, temporal.ApplicationErrorOptions{
		NonRetryable: true, Cause: err, Details: []any{fields},
	})
}

// wfRejected, wfConflict and wfFinished are the workflow's three refusals,
// as its rejected, conflict and finished build them.
func wfRejected(fields ...policy.FieldError) error {
	return wfRefusal(workflows.ErrTypeRejected, policy.ValidationError(fields))
}

func wfConflict(err error) error { return wfRefusal(workflows.ErrTypeConflict, err) }

func wfFinished() error { return wfRefusal(workflows.ErrTypeLoanFinished, workflows.ErrLoanFinished) }

// overTheWire is err as a client sees it after it crossed Temporal: the
// worker's failure converter turns the validator's error into a Failure
// (details encoded as payloads by the data converter), and the client's turns
// it back into a *temporal.ApplicationError whose details are decoded on
// demand, as the SDK's update handle does (completedUpdateHandle.Get).
func overTheWire(err error) error {
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(err))
}

// fakeStore is an in-memory audit store.
type fakeStore struct {
	notices  []store.Notice
	timeline []store.TimelineEntry
	err      error
	loans    []string
}

func (s *fakeStore) NoticesByLoan(_ context.Context, loanID string) ([]store.Notice, error) {
	s.loans = append(s.loans, loanID)
	return s.notices, s.err
}

func (s *fakeStore) Timeline(_ context.Context, loanID string) ([]store.TimelineEntry, error) {
	s.loans = append(s.loans, loanID)
	return s.timeline, s.err
}

func (s *fakeStore) Ping(context.Context) error { return s.err }

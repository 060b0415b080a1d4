package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"dunning/policy"
	"dunning/workflows"
)

// Temporal is the part of client.Client the API and the CLI use. A
// client.Client satisfies it; tests use a fake.
type Temporal interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	QueryWorkflow(ctx context.Context, workflowID string, runID string, queryType string, args ...any) (converter.EncodedValue, error)
	SignalWorkflow(ctx context.Context, workflowID string, runID string, signalName string, arg any) error
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	CheckHealth(ctx context.Context, request *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

var _ Temporal = client.Client(nil)

// Errors callers branch on (errors.Is). The API maps them to 404, 409 and 503.
var (
	// ErrNotFound: no workflow exists for the loan.
	ErrNotFound = errors.New("loan not found")
	// ErrNotOpen: the loan's workflow has completed (paid off or closed), so
	// it takes no more repayments or signals, and its id cannot start again.
	ErrNotOpen = errors.New("loan is no longer open: it was paid off or closed")
	// ErrUnavailable: Temporal or the database did not answer in time. It is
	// not the caller's fault; retrying later may succeed.
	ErrUnavailable = errors.New("unavailable")
)

// RejectedError is a request the workflow refused as invalid for the loan as
// it stands (workflows.ErrTypeRejected, HTTP 422): Message is the workflow's,
// Fields the fields it names, if any.
type RejectedError struct {
	Message string
	Fields  []policy.FieldError
}

// Error is "rejected: " and the workflow's message.
func (e *RejectedError) Error() string { return "rejected: " + e.Message }

// ConflictError is a request that contradicts what the loan already holds
// (workflows.ErrTypeConflict, HTTP 409): a txn_id repeated with another
// amount or paid_at, a resume of a loan that is not paused.
type ConflictError struct {
	Message string
	Fields  []policy.FieldError
}

// Error is "conflict: " and the workflow's message.
func (e *ConflictError) Error() string { return "conflict: " + e.Message }

// StartResult says which run a loan's workflow is; it is the body of the
// answer to POST /v1/loans.
type StartResult struct {
	LoanID     string `json:"loan_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	// Started is false when the loan's workflow was already running and
	// RunID is that run.
	Started bool `json:"-"`
}

// StartOptions are the options a loan's workflow starts with. The summary
// and the search attributes are visible to every operator and are never
// encrypted, so they carry ids, currency and counts, never a name, phone or
// email.
//
// The conflict policy is FAIL with WorkflowExecutionErrorWhenAlreadyStarted,
// not USE_EXISTING: the outcome is the same (a running loan is answered with
// its existing run, nothing new starts), but SDK v1.51 does not expose the
// server's "started" flag, so with USE_EXISTING a caller could not tell a new
// loan from a repeated request without a racy describe. FAIL makes the server
// itself say which one happened. The reuse policy ALLOW_DUPLICATE_FAILED_ONLY
// keeps a paid-off or closed loan's id from being started again by mistake,
// while a loan whose run failed or was terminated can be started afresh.
func StartOptions(l policy.Loan, p policy.Policy, queue string) client.StartWorkflowOptions {
	if queue == "" {
		queue = workflows.TaskQueue
	}
	return client.StartWorkflowOptions{
		ID:                                       workflows.WorkflowID(l.LoanID),
		TaskQueue:                                queue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary: fmt.Sprintf("Loan %s · %s · %d installments · policy %s",
			l.LoanID, l.Currency, len(l.Installments), p.Name),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrLoanID.ValueSet(l.LoanID),
			workflows.AttrCustomerID.ValueSet(l.Customer.ID),
			workflows.AttrLoanState.ValueSet(policy.StateCurrent),
		),
	}
}

// StartLoan starts the workflow of loan l, validated beforehand (CheckLoan),
// under policy p, on task queue queue ("" is workflows.TaskQueue; tests
// give each their own so their workers never take each other's tasks). A loan whose workflow is already running is not an error:
// the result names the existing run with Started false. A loan whose workflow
// completed (paid off or closed) fails with ErrNotOpen.
func StartLoan(ctx context.Context, t Temporal, l policy.Loan, p policy.Policy, queue string) (StartResult, error) {
	return StartInput(ctx, t, workflows.Input{Loan: l, Policy: p}, queue)
}

// StartInput is StartLoan with the whole workflow input (a loan whose number
// opted out by keyword before it started carries that in KeywordOptOuts).
func StartInput(ctx context.Context, t Temporal, in workflows.Input, queue string) (StartResult, error) {
	l, p := in.Loan, in.Policy
	id := workflows.WorkflowID(l.LoanID)
	res := StartResult{LoanID: l.LoanID, WorkflowID: id}
	run, err := t.ExecuteWorkflow(ctx, StartOptions(l, p, queue), workflows.WorkflowType, in)
	if err == nil {
		res.RunID, res.Started = run.GetRunID(), true
		return res, nil
	}
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &already) {
		return res, temporalError("start loan "+l.LoanID, err)
	}
	// Running, or finished and refused by the reuse policy: the server says
	// "already started" for both, so ask which.
	res.RunID = already.RunId
	desc, err := t.DescribeWorkflowExecution(ctx, id, already.RunId)
	if err != nil {
		return res, temporalError("start loan "+l.LoanID+": describe existing run", err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return res, fmt.Errorf("start loan %s: its workflow %s: a finished loan's id cannot be started again: %w",
			l.LoanID, strings.ToLower(strings.TrimPrefix(st.String(), "WORKFLOW_EXECUTION_STATUS_")), ErrNotOpen)
	}
	return res, nil
}

// Status queries the loan's workflow for its snapshot and returns the
// workflow's JSON unchanged (amounts as fixed-point strings). It fails with
// ErrNotFound when the loan has no workflow.
func Status(ctx context.Context, t Temporal, loanID string) (json.RawMessage, error) {
	now := time.Now()
	v, err := t.QueryWorkflow(ctx, workflows.WorkflowID(loanID), "", workflows.QueryStatus, &now)
	if err != nil {
		return nil, temporalError("status of loan "+loanID, err)
	}
	var raw json.RawMessage
	if err := v.Get(&raw); err != nil {
		return nil, fmt.Errorf("status of loan %s: decode snapshot: %w", loanID, err)
	}
	return raw, nil
}

// RepayUpdateID is the update id of a repayment: derived from its txn_id and
// content, so a repeated report of the same payment is deduplicated by the
// server too (and answered with the first outcome even after the workflow
// completed), while the same txn_id with another amount or paid_at reaches
// the workflow's validator, which answers 409.
func RepayUpdateID(r policy.Repayment) string {
	paidAt := ""
	if !r.PaidAt.IsZero() {
		paidAt = r.PaidAt.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte(r.Amount.String() + "|" + paidAt + "|" + r.Currency))
	return "repay/" + r.TxnID + "/" + hex.EncodeToString(sum[:8])
}

// Repay reports repayment r (checked beforehand with CheckRepayment; a zero
// PaidAt means "paid now") to the loan's workflow and waits for the snapshot
// after allocation, returned as the workflow's JSON. It fails with
//   - *RejectedError or *ConflictError when the workflow refuses r;
//   - ErrNotFound when the loan has no workflow;
//   - ErrNotOpen when the loan was paid off or closed, unless r's txn_id was
//     already applied: a repeat then answers the loan's final snapshot, since
//     repeating a repayment changes nothing and returns the same result;
//   - ErrUnavailable when Temporal does not answer.
func Repay(ctx context.Context, t Temporal, loanID string, r policy.Repayment) (json.RawMessage, error) {
	raw, err := Update(ctx, t, loanID, workflows.UpdateRepay, RepayUpdateID(r), r)
	if err == nil || !errors.Is(err, ErrNotOpen) {
		return raw, err
	}
	// Completed: answer a repeat with the final balance, refuse a new payment.
	snap, qerr := Status(ctx, t, loanID)
	if qerr != nil {
		// Without the final balance a repeat cannot be told from a new
		// payment; a 409 could make the lender think the money was lost.
		return nil, fmt.Errorf("repay loan %s: loan is closed; checking whether txn %s was applied: %w", loanID, r.TxnID, qerr)
	}
	var final struct {
		Applied []struct {
			TxnID  string          `json:"txn_id"`
			Amount decimal.Decimal `json:"amount"`
			PaidAt time.Time       `json:"paid_at"`
		} `json:"applied"`
	}
	if err := json.Unmarshal(snap, &final); err != nil {
		return nil, fmt.Errorf("repay loan %s: read final snapshot: %w", loanID, err)
	}
	for _, a := range final.Applied {
		if a.TxnID != r.TxnID {
			continue
		}
		var fields []policy.FieldError
		if !a.Amount.Equal(r.Amount) {
			fields = append(fields, policy.FieldError{Field: "amount", Problem: fmt.Sprintf("txn_id %s was already applied with amount %s", r.TxnID, a.Amount)})
		}
		if !r.PaidAt.IsZero() && !a.PaidAt.Equal(r.PaidAt) {
			fields = append(fields, policy.FieldError{Field: "paid_at", Problem: fmt.Sprintf("txn_id %s was already applied as paid at %s", r.TxnID, a.PaidAt.Format(time.RFC3339))})
		}
		if fields != nil {
			return nil, &ConflictError{Message: policy.ValidationError(fields).Error(), Fields: fields}
		}
		return snap, nil
	}
	return nil, fmt.Errorf("repay loan %s: %w", loanID, err)
}

// Update sends update name with arg to the loan's running workflow, under
// updateID ("" lets the client choose one), and waits for its answer: the
// loan's snapshot as the workflow's JSON. It fails with *RejectedError (422),
// *ConflictError (409), ErrNotOpen (409) when the workflow refuses, with
// ErrNotFound when the loan has no workflow and ErrUnavailable when Temporal
// does not answer. A run that continues as new while the update is on its
// way is retried once on the next run.
func Update(ctx context.Context, t Temporal, loanID, name, updateID string, arg any) (json.RawMessage, error) {
	id := workflows.WorkflowID(loanID)
	for attempt := 1; ; attempt++ {
		raw, err := update(ctx, t, id, name, updateID, arg)
		if err == nil {
			return raw, nil
		}
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return nil, refusal(loanID, name, app)
		}
		if !isNotFound(err) {
			return nil, temporalError(name+" loan "+loanID, err)
		}
		// Not found: no such loan, or its workflow has completed, or the run
		// the update went to has just continued as new.
		desc, derr := t.DescribeWorkflowExecution(ctx, id, "")
		if derr != nil {
			return nil, temporalError(name+" loan "+loanID, derr)
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return nil, fmt.Errorf("%s loan %s: %w", name, loanID, ErrNotOpen)
		}
		if attempt == 2 {
			return nil, fmt.Errorf("%s loan %s: the workflow runs but the update did not reach it: %w", name, loanID, err)
		}
	}
}

// refusal turns the workflow's typed refusal into the API's errors. The
// type decides, never the message text.
func refusal(loanID, name string, app *temporal.ApplicationError) error {
	fields := workflows.ErrorFields(app)
	switch app.Type() {
	case workflows.ErrTypeLoanFinished:
		return fmt.Errorf("%s loan %s: %w", name, loanID, ErrNotOpen)
	case workflows.ErrTypeConflict:
		return &ConflictError{Message: app.Message(), Fields: fields}
	case workflows.ErrTypeRejected:
		return &RejectedError{Message: app.Message(), Fields: fields}
	default:
		// Not the workflow's verdict on the request: the SDK's own refusal
		// (an unknown update on a worker without the handler mid-deploy,
		// undecodable input). The caller is not to blame: 500, logged.
		return fmt.Errorf("%s loan %s: %w", name, loanID, app)
	}
}

// update sends one update and waits for its outcome.
func update(ctx context.Context, t Temporal, workflowID, name, updateID string, arg any) (json.RawMessage, error) {
	h, err := t.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID:     updateID,
		WorkflowID:   workflowID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := h.Get(ctx, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// temporalError wraps err from a Temporal call with what was being done,
// adding ErrNotFound or ErrUnavailable where they apply.
func temporalError(doing string, err error) error {
	switch {
	case isNotFound(err):
		return fmt.Errorf("%s: %w: %w", doing, ErrNotFound, err)
	case isUnavailable(err):
		return fmt.Errorf("%s: temporal %w: %w", doing, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// isUnavailable reports whether err means a dependency did not answer (down,
// overloaded, too slow), as opposed to refusing the request.
func isUnavailable(err error) bool {
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
		updateWait  *client.WorkflowUpdateServiceTimeoutOrCanceledError
		netErr      net.Error
	)
	return errors.Is(err, ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted) ||
		errors.As(err, &updateWait) || errors.As(err, &netErr)
}

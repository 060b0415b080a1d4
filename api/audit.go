package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// HistoryReader is the part of the Temporal client the audit export reads
// workflow histories through. A client.Client satisfies it; tests use a
// fake.
type HistoryReader interface {
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
	GetWorkflowHistory(ctx context.Context, workflowID, runID string, isLongPoll bool, filterType enumspb.HistoryEventFilterType) client.HistoryEventIterator
}

var _ HistoryReader = client.Client(nil)

// TimelineReader is the part of the audit store the export reads: the
// loan's ledger and notices in time order. A *store.Store satisfies it.
type TimelineReader interface {
	Timeline(ctx context.Context, loanID string) ([]store.TimelineEntry, error)
}

// The states of an audit export's history part (Audit.History).
const (
	// HistoryComplete: every run of the loan's workflow that we know of was
	// read.
	HistoryComplete = "complete"
	// HistoryPartial: Temporal's retention has removed the older runs; the
	// newer ones were read (Audit.ExpiredRuns names the others).
	HistoryPartial = "partial"
	// HistoryExpired: Temporal's retention has removed every run; the
	// ledger and notices, kept in PostgreSQL, are the whole record.
	HistoryExpired = "expired"
	// HistoryUnavailable: Temporal did not answer; the export holds the
	// ledger and notices only. Asking again later may give the history.
	HistoryUnavailable = "unavailable"
	// HistoryNone: neither Temporal nor PostgreSQL knows the loan.
	HistoryNone = "none"
)

// Bounds of the history reads, within the request's own timeout. The SDK
// retries an unreachable server until its context ends, so without a bound
// of its own a Temporal outage would use up the whole request.
const (
	historyProbeTimeout = 5 * time.Second  // the first call: is the loan's workflow there?
	historyRunTimeout   = 10 * time.Second // reading one run's events
)

// Audit is a loan's audit export: its ledger, its notices and the events of
// its workflow runs, merged in time order, with the state of the history
// part. It is the JSON answer of GET /v1/loans/{id}/audit and of `starter
// audit`.
type Audit struct {
	LoanID     string `json:"loan_id"`
	WorkflowID string `json:"workflow_id"`
	// History is HistoryComplete, HistoryPartial, HistoryExpired,
	// HistoryUnavailable or HistoryNone; HistoryNote says it in words when
	// it is not complete.
	History     string `json:"history"`
	HistoryNote string `json:"history_note,omitempty"`
	// Runs are the runs whose events are in Entries, oldest first.
	Runs []string `json:"runs"`
	// ExpiredRuns are runs the ledger, the notices or a later run name that
	// Temporal no longer has.
	ExpiredRuns []string              `json:"expired_runs,omitempty"`
	Entries     []store.TimelineEntry `json:"entries"`
}

// ExportAudit builds the audit export of loanID: the ledger and notices from
// st, the events of every run of the loan's workflow from h (nil: the
// history part is unavailable), merged with store.MergeTimeline. Only an
// error of st fails it: the ledger and notices are the record; without
// Temporal (down, or its retention passed) the export still answers, and
// Audit.History says what the history part holds.
func ExportAudit(ctx context.Context, st TimelineReader, h HistoryReader, loanID string) (Audit, error) {
	rows, err := st.Timeline(ctx, loanID)
	if err != nil {
		return Audit{}, fmt.Errorf("audit of loan %s: %w", loanID, err)
	}
	id := workflows.WorkflowID(loanID)
	a := Audit{LoanID: loanID, WorkflowID: id, Runs: []string{}}
	if h == nil {
		a.History, a.HistoryNote = HistoryUnavailable, "no Temporal client is configured: ledger and notices only"
		a.Entries = store.MergeTimeline(rows)
		return a, nil
	}
	runs, expired, err := readHistories(ctx, h, loanID, runsNamedBy(rows))
	switch {
	case err != nil:
		a.History = HistoryUnavailable
		a.HistoryNote = "Temporal did not answer, so the workflow history is missing from this export " +
			"(ledger and notices are complete; ask again later): " + err.Error()
		runs, expired = nil, nil
	case len(runs) == 0 && len(expired) == 0 && len(rows) == 0:
		a.History, a.HistoryNote = HistoryNone, "no workflow and no audit rows: the loan is unknown"
	case len(runs) == 0:
		a.History = HistoryExpired
		a.HistoryNote = "Temporal's retention has removed the loan's workflow history; the ledger and notices below are the whole record"
	case len(expired) > 0:
		a.History = HistoryPartial
		a.HistoryNote = fmt.Sprintf("Temporal's retention has removed %d older run(s) of the loan's workflow (expired_runs); %d run(s) are included",
			len(expired), len(runs))
	default:
		a.History = HistoryComplete
	}
	var history []store.TimelineEntry
	for _, r := range runs {
		a.Runs = append(a.Runs, r.runID)
		history = append(history, r.rows...)
	}
	a.ExpiredRuns = expired
	// Runs follow each other, but two servers' clocks need not: keep the
	// list in time order for the merge, events of one instant in run order.
	slices.SortStableFunc(history, func(x, y store.TimelineEntry) int { return x.At.Compare(y.At) })
	a.Entries = store.MergeTimeline(history, rows)
	return a, nil
}

// runsNamedBy lists the run ids that ledger and notice rows carry, the run
// that last wrote a row first.
func runsNamedBy(rows []store.TimelineEntry) []string {
	last := map[string]time.Time{}
	for _, r := range rows {
		if r.RunID == "" {
			continue
		}
		if t, ok := last[r.RunID]; !ok || r.RecordedAt.After(t) {
			last[r.RunID] = r.RecordedAt
		}
	}
	ids := make([]string, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(last[b].Compare(last[a]), cmp.Compare(a, b)) })
	return ids
}

// run is one workflow run's history, as timeline entries.
type run struct {
	runID   string
	started time.Time
	rows    []store.TimelineEntry
}

// readHistories reads every run of the loan's workflow that can still be
// read, and lists the known runs Temporal no longer has.
//
// It walks each chain of runs backwards: from the newest run (as Describe
// names it), each run's WorkflowExecutionStarted event names the run it
// continued (ContinuedExecutionRunId), until a run that began the chain.
// We prefer this to listing the runs with a visibility query (WorkflowId =
// '<id>') because the history is strongly consistent where visibility is
// eventually consistent (a run that has just continued as new can be missing
// from a list for a while, and the export would silently lack it), and it
// needs no visibility store. A loan restarted after a failed or terminated
// run begins a new chain that does not link back; its earlier chain is
// found from the run ids the ledger and notice rows carry (named, newest
// first), each walked the same way.
//
// Temporal removes a run a retention period after it closed, and a loan's
// runs closed in the order they ran: once a run is gone, every older one is
// too. So after the first NotFound, the named runs not reached yet are
// listed as expired without asking for each (a 30-year loan has hundreds
// of runs). Any error other than NotFound fails the read.
func readHistories(ctx context.Context, h HistoryReader, loanID string, named []string) (runs []run, expired []string, err error) {
	id := workflows.WorkflowID(loanID)
	pctx, cancel := context.WithTimeout(ctx, historyProbeTimeout)
	desc, err := h.DescribeWorkflowExecution(pctx, id, "")
	cancel()
	if isNotFound(err) {
		// The newest run is gone, so are all the others.
		return nil, named, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("describe workflow %s: %w", id, err)
	}
	seen := map[string]bool{}
	gone := false
	walk := func(runID string) error {
		for runID != "" && !seen[runID] {
			seen[runID] = true
			r, prev, err := readRun(ctx, h, loanID, runID)
			if isNotFound(err) {
				expired, gone = append(expired, runID), true
				return nil
			}
			if err != nil {
				return err
			}
			runs = append(runs, r)
			runID = prev
		}
		return nil
	}
	if err := walk(desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()); err != nil {
		return nil, nil, err
	}
	for _, runID := range named {
		switch {
		case seen[runID]:
		case gone:
			seen[runID] = true
			expired = append(expired, runID)
		default:
			if err := walk(runID); err != nil {
				return nil, nil, err
			}
		}
	}
	slices.SortStableFunc(runs, func(a, b run) int { return a.started.Compare(b.started) })
	return runs, expired, nil
}

// readRun reads one run's events and turns them into timeline entries; prev
// is the run it continued, "" for the first run of a chain.
func readRun(ctx context.Context, h HistoryReader, loanID, runID string) (r run, prev string, err error) {
	id := workflows.WorkflowID(loanID)
	ctx, cancel := context.WithTimeout(ctx, historyRunTimeout)
	defer cancel()
	it := h.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return run{}, "", fmt.Errorf("history of workflow %s run %s: %w", id, runID, err)
		}
		events = append(events, e)
	}
	rows, prev := historyRows(loanID, runID, events)
	r = run{runID: runID, rows: rows}
	if len(events) > 0 {
		r.started = events[0].GetEventTime().AsTime()
	}
	return r, prev, nil
}

// Kinds of history entries, by the Temporal event they stand for. Events of
// other types (workflow tasks, activities, timers started, markers, search
// attribute upserts) are the workflow's own machinery: what they did is in
// the ledger and the notices.
var historyKinds = map[enumspb.EventType]string{
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:          "workflow_started",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED:  "update_admitted",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:  "update_accepted",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED:  "update_rejected",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: "update_completed",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:         "signal_received",
	enumspb.EVENT_TYPE_TIMER_FIRED:                         "timer_fired",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:        "workflow_completed",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:           "workflow_failed",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:        "workflow_timed_out",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:       "workflow_terminated",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED: "cancel_requested",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:         "workflow_canceled",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED:           "workflow_paused",
	enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED:         "workflow_unpaused",
}

// historyRows turns one run's events into timeline entries: which event,
// when, its id, the signal or update name, the caller's identity, the
// update or timer id, and the run ids that chain runs together. It never
// reads a payload (inputs, results, failure details, memos, summaries):
// they may hold the borrower's contact details and, with encryption on, are
// ciphertext anyway. Free text kept is Temporal's own, not the workflow's:
// a termination's reason and a cancellation's cause, given by whoever
// terminated or cancelled (an operator, in the Web UI or the CLI), which no
// ledger row records. prev is the run this one continued, "" if none.
func historyRows(loanID, runID string, events []*historypb.HistoryEvent) (rows []store.TimelineEntry, prev string) {
	workflowID := workflows.WorkflowID(loanID)
	type update struct{ name, identity string }
	updates := map[string]update{} // by update id, for the completion
	for _, e := range events {
		kind, ok := historyKinds[e.GetEventType()]
		if !ok {
			continue
		}
		at := e.GetEventTime().AsTime()
		r := store.TimelineEntry{
			At: at, RecordedAt: at, Source: store.SourceHistory, ID: e.GetEventId(), LoanID: loanID,
			Kind: kind, EventType: e.GetEventType().String(), WorkflowID: workflowID, RunID: runID,
		}
		detail := map[string]any{}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a := e.GetWorkflowExecutionStartedEventAttributes()
			r.Name, r.Identity = a.GetWorkflowType().GetName(), a.GetIdentity()
			prev = a.GetContinuedExecutionRunId()
			if prev != "" {
				detail["continued_from_run_id"] = prev
			}
			if i := a.GetInitiator(); i != enumspb.CONTINUE_AS_NEW_INITIATOR_UNSPECIFIED {
				detail["initiator"] = i.String()
			}
			if o := a.GetOriginalExecutionRunId(); o != "" && o != runID {
				detail["original_run_id"] = o // a reset run: its events up to the reset repeat the original's
			}
			if n := a.GetAttempt(); n > 1 {
				detail["attempt"] = n
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED:
			req := e.GetWorkflowExecutionUpdateAdmittedEventAttributes().GetRequest()
			r.Name, r.Identity, r.UpdateID = req.GetInput().GetName(), req.GetMeta().GetIdentity(), req.GetMeta().GetUpdateId()
			updates[r.UpdateID] = update{r.Name, r.Identity}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			req := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest()
			r.Name, r.Identity, r.UpdateID = req.GetInput().GetName(), req.GetMeta().GetIdentity(), req.GetMeta().GetUpdateId()
			updates[r.UpdateID] = update{r.Name, r.Identity}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED:
			a := e.GetWorkflowExecutionUpdateRejectedEventAttributes()
			req := a.GetRejectedRequest()
			r.Name, r.Identity, r.UpdateID = req.GetInput().GetName(), req.GetMeta().GetIdentity(), req.GetMeta().GetUpdateId()
			if t := a.GetFailure().GetApplicationFailureInfo().GetType(); t != "" {
				detail["failure_type"] = t
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			a := e.GetWorkflowExecutionUpdateCompletedEventAttributes()
			r.UpdateID = a.GetMeta().GetUpdateId()
			u := updates[r.UpdateID]
			r.Name, r.Identity = u.name, u.identity // as accepted: this event names neither
			r.Status = "succeeded"
			if f := a.GetOutcome().GetFailure(); f != nil {
				r.Status = "failed"
				if t := f.GetApplicationFailureInfo().GetType(); t != "" {
					detail["failure_type"] = t
				}
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			a := e.GetWorkflowExecutionSignaledEventAttributes()
			r.Name, r.Identity = a.GetSignalName(), a.GetIdentity()
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			a := e.GetTimerFiredEventAttributes()
			r.TimerID = a.GetTimerId()
			detail["started_event_id"] = a.GetStartedEventId()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
			detail["new_run_id"] = e.GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			if n := e.GetWorkflowExecutionCompletedEventAttributes().GetNewExecutionRunId(); n != "" {
				detail["new_run_id"] = n
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
			a := e.GetWorkflowExecutionFailedEventAttributes()
			if t := a.GetFailure().GetApplicationFailureInfo().GetType(); t != "" {
				detail["failure_type"] = t
			}
			if n := a.GetNewExecutionRunId(); n != "" {
				detail["new_run_id"] = n
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
			if n := e.GetWorkflowExecutionTimedOutEventAttributes().GetNewExecutionRunId(); n != "" {
				detail["new_run_id"] = n
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
			a := e.GetWorkflowExecutionTerminatedEventAttributes()
			r.Identity, r.Reason = a.GetIdentity(), a.GetReason()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
			a := e.GetWorkflowExecutionCancelRequestedEventAttributes()
			r.Identity, r.Reason = a.GetIdentity(), a.GetCause()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED:
			a := e.GetWorkflowExecutionPausedEventAttributes()
			r.Identity, r.Reason = a.GetIdentity(), a.GetReason()
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED:
			a := e.GetWorkflowExecutionUnpausedEventAttributes()
			r.Identity, r.Reason = a.GetIdentity(), a.GetReason()
		}
		if len(detail) > 0 {
			r.Detail, _ = json.Marshal(detail) // ids, names and numbers only: cannot fail
		}
		rows = append(rows, r)
	}
	return rows, prev
}

// WriteAuditCSV writes a as CSV (store.WriteTimelineCSV's columns). The
// first line after the header says what the history part holds: source
// "history", kind "history_<state>" (history_complete, history_partial,
// history_expired, history_unavailable, history_none), the note in reason
// and {"runs": […], "expired_runs": […]} in detail. A row rather than a
// comment line, because spreadsheets and most CSV readers have no comments.
func WriteAuditCSV(w io.Writer, a Audit) error {
	detail, err := json.Marshal(struct {
		Runs        []string `json:"runs"`
		ExpiredRuns []string `json:"expired_runs,omitempty"`
	}{a.Runs, a.ExpiredRuns})
	if err != nil {
		return fmt.Errorf("write audit csv: %w", err)
	}
	state := store.TimelineEntry{
		Source: store.SourceHistory, LoanID: a.LoanID, Kind: "history_" + a.History,
		Reason: a.HistoryNote, Detail: detail, WorkflowID: a.WorkflowID,
	}
	return store.WriteTimelineCSV(w, append([]store.TimelineEntry{state}, a.Entries...))
}

// audit: GET /v1/loans/{id}/audit[?format=json|csv], the loan's audit
// export (ExportAudit): ledger, notices and workflow history in time order.
// Temporal being down or past its retention does not fail it; the answer
// says what its history part holds.
func (s *server) audit(w http.ResponseWriter, r *http.Request) {
	id, ok := loanID(w, r)
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeInvalid(w, "query", policy.ValidationError{{Field: "format", Problem: fmt.Sprintf("must be json or csv, got %q", format)}})
		return
	}
	if !s.haveStore(w) {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	a, err := ExportAudit(ctx, s.Store, s.History, id)
	if err != nil {
		s.failStore(w, id, err)
		return
	}
	if a.History == HistoryUnavailable {
		s.Logger.Warn("audit export without workflow history", "loan_id", id, "note", a.HistoryNote)
	}
	w.Header().Set("Audit-History", a.History)
	if format != "csv" {
		writeJSON(w, http.StatusOK, a)
		return
	}
	var buf bytes.Buffer
	if err := WriteAuditCSV(&buf, a); err != nil {
		s.failStore(w, id, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-audit.csv"`, id))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

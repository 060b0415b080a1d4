package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/serviceerror"
	updatepb "go.temporal.io/api/update/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	"dunning/store"
	"dunning/workflows"
)

// fakeHistory is Temporal's history service for one loan's workflow: the
// runs it still has, the newest one, and a record of the runs read.
type fakeHistory struct {
	mu     sync.Mutex
	err    error                                // every call fails with it (a server that is down)
	runErr map[string]error                     // reading that run fails with it
	latest string                               // the newest run; "" when the workflow is unknown or expired
	runs   map[string][]*historypb.HistoryEvent // the runs Temporal still has
	reads  []string                             // runs whose history was asked for, in order
}

func (f *fakeHistory) DescribeWorkflowExecution(_ context.Context, workflowID, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if f.latest == "" {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + workflowID)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: f.latest},
	}}, nil
}

func (f *fakeHistory) GetWorkflowHistory(_ context.Context, _, runID string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, runID)
	switch events, ok := f.runs[runID]; {
	case f.err != nil:
		return &fakeIterator{err: f.err}
	case f.runErr[runID] != nil:
		return &fakeIterator{events: events[:1], err: f.runErr[runID]}
	case !ok:
		return &fakeIterator{err: serviceerror.NewNotFound("workflow execution not found")}
	default:
		return &fakeIterator{events: events}
	}
}

// fakeIterator hands out events, then err if set (as the SDK's iterator
// does when a page fails).
type fakeIterator struct {
	events []*historypb.HistoryEvent
	err    error
}

func (it *fakeIterator) HasNext() bool { return len(it.events) > 0 || it.err != nil }
func (it *fakeIterator) Next() (*historypb.HistoryEvent, error) {
	if len(it.events) > 0 {
		e := it.events[0]
		it.events = it.events[1:]
		return e, nil
	}
	err := it.err
	it.err = nil
	return nil, err
}

// pii is borrower data that sits in payloads (the loan input, a contact
// update, a snapshot) and must never reach the history part of an export.
var pii = []string{"+8613800138000", "张伟", "zhang.wei@example.cn", "fcm-token"}

// piiPayloads is a payload holding pii, as a workflow input or an update's
// argument does (unencrypted here; encrypted, it would be ciphertext).
func piiPayloads() *commonpb.Payloads {
	return &commonpb.Payloads{Payloads: []*commonpb.Payload{{
		Metadata: map[string][]byte{"encoding": []byte("json/plain")},
		Data:     []byte(`{"name":"张伟","phone":"+8613800138000","email":"zhang.wei@example.cn","push_token":"fcm-token"}`),
	}}}
}

// runBuilder writes one run's history: events numbered from 1, a second
// apart from start.
type runBuilder struct {
	at     time.Time
	events []*historypb.HistoryEvent
}

func newRun(start time.Time) *runBuilder { return &runBuilder{at: start} }

func (b *runBuilder) add(typ enumspb.EventType, attrs func(*historypb.HistoryEvent)) *runBuilder {
	e := &historypb.HistoryEvent{
		EventId: int64(len(b.events) + 1), EventType: typ,
		EventTime: timestamppb.New(b.at.Add(time.Duration(len(b.events)) * time.Second)),
	}
	if attrs != nil {
		attrs(e)
	}
	b.events = append(b.events, e)
	return b
}

func (b *runBuilder) started(prev, identity string) *runBuilder {
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
			WorkflowType: &commonpb.WorkflowType{Name: workflows.WorkflowType}, Input: piiPayloads(),
			ContinuedExecutionRunId: prev, Identity: identity,
			Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{"customer": piiPayloads().Payloads[0]}},
		}}
		// A summary is a payload too.
		e.UserMetadata = &sdkpb.UserMetadata{Summary: piiPayloads().Payloads[0]}
	})
}

func (b *runBuilder) workflowTask() *runBuilder {
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil).
		add(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil).
		add(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil)
}

func (b *runBuilder) update(name, id, identity string, fail string) *runBuilder {
	req := &updatepb.Request{
		Meta:  &updatepb.Meta{UpdateId: id, Identity: identity},
		Input: &updatepb.Input{Name: name, Args: piiPayloads()},
	}
	b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			ProtocolInstanceId: id, AcceptedRequest: req,
		}}
	})
	outcome := &updatepb.Outcome{Value: &updatepb.Outcome_Success{Success: piiPayloads()}}
	if fail != "" {
		outcome = &updatepb.Outcome{Value: &updatepb.Outcome_Failure{Failure: &failurepb.Failure{
			Message: "phone +8613800138000 refused",
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
				Type: fail, Details: piiPayloads(),
			}},
		}}}
	}
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
			Meta: &updatepb.Meta{UpdateId: id}, AcceptedEventId: int64(len(b.events)), Outcome: outcome,
		}}
	})
}

func (b *runBuilder) signal(name, identity string) *runBuilder {
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
			SignalName: name, Identity: identity, Input: piiPayloads(),
		}}
	})
}

func (b *runBuilder) activity() *runBuilder {
	return b.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityId: "1", ActivityType: &commonpb.ActivityType{Name: "SendNotice"}, Input: piiPayloads(),
		}}
	})
}

func (b *runBuilder) timer(id string) *runBuilder {
	b.add(enumspb.EVENT_TYPE_TIMER_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_TimerStartedEventAttributes{TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{TimerId: id}}
	})
	started := int64(len(b.events))
	return b.add(enumspb.EVENT_TYPE_TIMER_FIRED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_TimerFiredEventAttributes{TimerFiredEventAttributes: &historypb.TimerFiredEventAttributes{TimerId: id, StartedEventId: started}}
	})
}

func (b *runBuilder) continuedAsNew(next string) *runBuilder {
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes{WorkflowExecutionContinuedAsNewEventAttributes: &historypb.WorkflowExecutionContinuedAsNewEventAttributes{
			NewExecutionRunId: next, Input: piiPayloads(),
		}}
	})
}

func (b *runBuilder) completed() *runBuilder {
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes{WorkflowExecutionCompletedEventAttributes: &historypb.WorkflowExecutionCompletedEventAttributes{
			Result: piiPayloads(),
		}}
	})
}

func (b *runBuilder) terminated(reason, identity string) *runBuilder {
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{
			Reason: reason, Identity: identity, Details: piiPayloads(),
		}}
	})
}

// rowsOf names entries "source/kind" for comparisons.
func rowsOf(entries []store.TimelineEntry) string {
	var out []string
	for _, e := range entries {
		s := e.Source + "/" + e.Kind
		if e.Name != "" {
			s += ":" + e.Name
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// A run's history becomes entries that name each event (kind, Temporal's
// type, event id, run, time), the update or signal and who sent it, the
// timer, the runs before and after; workflow-task and activity events are
// left out, and no payload content (input, arguments, results, failure
// details, memo) appears anywhere.
func TestHistoryRows(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	events := newRun(t0).started("run-0", "api@host-1").workflowTask().activity().
		update(workflows.UpdatePause, "pause/op-1", "ops-console@host-2", "").
		update(workflows.UpdateRepay, "repay/T-1/abc", "lending@host-3", workflows.ErrTypeConflict).
		signal(workflows.SignalResume, "temporal-ui@host-4").
		timer("7").
		terminated("restart under rules 3", "tctl@host-5").events

	rows, prev := historyRows("L-1", "run-1", events)
	if prev != "run-0" {
		t.Errorf("prev = %q, want run-0", prev)
	}
	want := []store.TimelineEntry{
		{Kind: "workflow_started", Name: workflows.WorkflowType, Identity: "api@host-1", ID: 1, Detail: json.RawMessage(`{"continued_from_run_id":"run-0"}`)},
		{Kind: "update_accepted", Name: "pause", Identity: "ops-console@host-2", UpdateID: "pause/op-1", ID: 6},
		{Kind: "update_completed", Name: "pause", Identity: "ops-console@host-2", UpdateID: "pause/op-1", Status: "succeeded", ID: 7},
		{Kind: "update_accepted", Name: "repay", Identity: "lending@host-3", UpdateID: "repay/T-1/abc", ID: 8},
		{Kind: "update_completed", Name: "repay", Identity: "lending@host-3", UpdateID: "repay/T-1/abc", Status: "failed", ID: 9,
			Detail: json.RawMessage(`{"failure_type":"Conflict"}`)},
		{Kind: "signal_received", Name: "resume", Identity: "temporal-ui@host-4", ID: 10},
		{Kind: "timer_fired", TimerID: "7", ID: 12, Detail: json.RawMessage(`{"started_event_id":11}`)},
		{Kind: "workflow_terminated", Identity: "tctl@host-5", Reason: "restart under rules 3", ID: 13},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %s", len(rows), len(want), rowsOf(rows))
	}
	for i, w := range want {
		g := rows[i]
		e := events[g.ID-1]
		w.At, w.RecordedAt, w.Source, w.LoanID = e.GetEventTime().AsTime(), e.GetEventTime().AsTime(), store.SourceHistory, "L-1"
		w.EventType, w.WorkflowID, w.RunID = e.GetEventType().String(), "loan-L-1", "run-1"
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("row %d\n got %s\nwant %s", i, gj, wj)
		}
	}
	all, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pii {
		if strings.Contains(string(all), p) {
			t.Errorf("history rows hold %q from a payload:\n%s", p, all)
		}
	}

	// The end of a run names the next; a run with no predecessor has none.
	rows, prev = historyRows("L-1", "run-2", newRun(t0).started("", "api").workflowTask().continuedAsNew("run-3").events)
	if prev != "" || rowsOf(rows) != "history/workflow_started:LoanWorkflow history/continued_as_new" ||
		string(rows[1].Detail) != `{"new_run_id":"run-3"}` {
		t.Errorf("prev %q rows %s detail %s", prev, rowsOf(rows), rows[len(rows)-1].Detail)
	}
}

// pgRow is a ledger or notice row of the fake store, written by runID at
// second s after t0.
func pgRow(t0 time.Time, source, kind, runID string, s int) store.TimelineEntry {
	at := t0.Add(time.Duration(s) * time.Second)
	return store.TimelineEntry{At: at, RecordedAt: at, Source: source, LoanID: "L-1", Kind: kind, WorkflowID: "loan-L-1", RunID: runID}
}

// The export finds every run of the loan — back along continue-as-new from
// the newest run, and back from the runs its ledger and notice rows name (a
// loan restarted after a terminated run) — reads each once, says which
// runs Temporal's retention removed, and merges it all in time order.
func TestExportAuditWalksEveryRun(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return t0.Add(time.Duration(d) * 24 * time.Hour) }
	// Chain A: a1 (terminated). Chain B, started again: b1 → b2 → b3.
	a1 := newRun(day(0)).started("", "api").workflowTask().terminated("restart", "ops").events
	b1 := newRun(day(1)).started("", "api").workflowTask().update("repay", "u1", "api", "").continuedAsNew("b2").events
	b2 := newRun(day(2)).started("b1", "").workflowTask().timer("3").continuedAsNew("b3").events
	b3 := newRun(day(3)).started("b2", "").workflowTask().signal("close", "ui").completed().events
	pg := []store.TimelineEntry{
		pgRow(day(0), store.SourceLedger, "loan_started", "a1", 5),
		pgRow(day(1), store.SourceLedger, "loan_started", "b1", 5),
		pgRow(day(1), store.SourceNotice, "notice", "b1", 6),
		pgRow(day(2), store.SourceLedger, "stage_changed", "b2", 6),
		pgRow(day(3), store.SourceLedger, "closed", "b3", 6),
	}
	all := map[string][]*historypb.HistoryEvent{"a1": a1, "b1": b1, "b2": b2, "b3": b3}
	keep := func(ids ...string) map[string][]*historypb.HistoryEvent {
		m := map[string][]*historypb.HistoryEvent{}
		for _, id := range ids {
			m[id] = all[id]
		}
		return m
	}
	for _, tt := range []struct {
		name        string
		h           *fakeHistory
		nilReader   bool
		pg          []store.TimelineEntry
		state       string
		runs        []string
		expired     []string
		reads       []string
		historyRows int
	}{
		{name: "every run there", h: &fakeHistory{latest: "b3", runs: all}, pg: pg,
			state: HistoryComplete, runs: []string{"a1", "b1", "b2", "b3"}, reads: []string{"b3", "b2", "b1", "a1"}, historyRows: 12},
		{name: "the restarted loan's first chain expired", h: &fakeHistory{latest: "b3", runs: keep("b1", "b2", "b3")}, pg: pg,
			state: HistoryPartial, runs: []string{"b1", "b2", "b3"}, expired: []string{"a1"}, reads: []string{"b3", "b2", "b1", "a1"}, historyRows: 10},
		{name: "older runs expired: no read for what must be gone", h: &fakeHistory{latest: "b3", runs: keep("b3")}, pg: pg,
			state: HistoryPartial, runs: []string{"b3"}, expired: []string{"b2", "b1", "a1"}, reads: []string{"b3", "b2"}, historyRows: 3},
		{name: "a run no row names is reached through the chain", h: &fakeHistory{latest: "b3", runs: all}, pg: pg[:1],
			state: HistoryComplete, runs: []string{"a1", "b1", "b2", "b3"}, reads: []string{"b3", "b2", "b1", "a1"}, historyRows: 12},
		{name: "every run expired", h: &fakeHistory{}, pg: pg,
			state: HistoryExpired, runs: []string{}, expired: []string{"b3", "b2", "b1", "a1"}, reads: nil},
		{name: "unknown loan", h: &fakeHistory{}, state: HistoryNone, runs: []string{}},
		{name: "temporal down", h: &fakeHistory{err: serviceerror.NewUnavailable("connection refused"), latest: "b3", runs: all}, pg: pg,
			state: HistoryUnavailable, runs: []string{}},
		{name: "temporal fails mid-walk: no half history", h: &fakeHistory{latest: "b3", runs: all, runErr: map[string]error{"b1": serviceerror.NewUnavailable("overloaded")}}, pg: pg,
			state: HistoryUnavailable, runs: []string{}, reads: []string{"b3", "b2", "b1"}},
		{name: "no temporal client", nilReader: true, pg: pg, state: HistoryUnavailable, runs: []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var h HistoryReader = tt.h
			if tt.nilReader {
				h = nil
			}
			a, err := ExportAudit(context.Background(), &fakeStore{timeline: tt.pg}, h, "L-1")
			if err != nil {
				t.Fatal(err)
			}
			if a.History != tt.state || !slices.Equal(a.Runs, tt.runs) || !slices.Equal(a.ExpiredRuns, tt.expired) {
				t.Errorf("history %s runs %v expired %v, want %s %v %v", a.History, a.Runs, a.ExpiredRuns, tt.state, tt.runs, tt.expired)
			}
			if (a.History == HistoryComplete) != (a.HistoryNote == "") {
				t.Errorf("history %s with note %q", a.History, a.HistoryNote)
			}
			if tt.h != nil && !slices.Equal(tt.h.reads, tt.reads) {
				t.Errorf("read runs %v, want %v", tt.h.reads, tt.reads)
			}
			if a.LoanID != "L-1" || a.WorkflowID != "loan-L-1" || a.Entries == nil {
				t.Errorf("audit %+v", a)
			}
			n := 0
			for i, e := range a.Entries {
				if e.Source == store.SourceHistory {
					n++
				}
				if i > 0 && e.At.Before(a.Entries[i-1].At) {
					t.Errorf("entry %d (%s) before entry %d", i, e.Kind, i-1)
				}
			}
			if n != tt.historyRows || len(a.Entries) != n+len(tt.pg) {
				t.Errorf("%d history rows of %d, want %d + %d rows: %s", n, len(a.Entries), tt.historyRows, len(tt.pg), rowsOf(a.Entries))
			}
		})
	}

	// The whole merge of the complete case, in time order. Events are a
	// second apart from each run's start; rows at the same second as an
	// event come after it (the continue-as-new before the notice sent by
	// the run it ends).
	a, err := ExportAudit(context.Background(), &fakeStore{timeline: pg}, &fakeHistory{latest: "b3", runs: all}, "L-1")
	if err != nil {
		t.Fatal(err)
	}
	want := "history/workflow_started:LoanWorkflow history/workflow_terminated ledger/loan_started " +
		"history/workflow_started:LoanWorkflow history/update_accepted:repay history/update_completed:repay ledger/loan_started history/continued_as_new notice/notice " +
		"history/workflow_started:LoanWorkflow history/timer_fired history/continued_as_new ledger/stage_changed " +
		"history/workflow_started:LoanWorkflow history/signal_received:close history/workflow_completed ledger/closed"
	if got := rowsOf(a.Entries); got != want {
		t.Errorf("merged\n got %s\nwant %s", got, want)
	}

	// The audit store is the record: its failure fails the export.
	if _, err := ExportAudit(context.Background(), &fakeStore{err: ErrUnavailable}, &fakeHistory{}, "L-1"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("store down: %v", err)
	}
}

// The JSON answer is an object naming the loan, the history state and its
// runs, with the entries of all three sources; the CSV has the same rows
// after a first row that says what the history part holds, and the history
// columns at the end.
func TestAuditJSONAndCSVShapes(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	amt := d("100.00")
	fh := &fakeHistory{latest: "r1", runs: map[string][]*historypb.HistoryEvent{
		"r1": newRun(t0).started("", "api@host").workflowTask().update("pause", "pause/k1", "ops@host", "").events,
	}}
	ta := newTestAPI(t, func(d *Deps) { d.History = fh })
	ta.st.timeline = []store.TimelineEntry{
		{At: t0.Add(3 * time.Second), Source: store.SourceLedger, ID: 7, LoanID: "L-1", Kind: "repayment_applied", Amount: &amt, Currency: "CNY", RunID: "r1"},
		{At: t0.Add(time.Hour), Source: store.SourceNotice, ID: 1, LoanID: "L-1", Kind: store.KindNotice, Channel: "sms", Recipient: "+8613800138000", RunID: "r1"},
	}

	rec := ta.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 200)
	if h := rec.Header().Get("Audit-History"); h != HistoryComplete {
		t.Errorf("Audit-History %q", h)
	}
	got := decode(t, rec)
	if got["loan_id"] != "L-1" || got["workflow_id"] != "loan-L-1" || got["history"] != "complete" ||
		fmt.Sprint(got["runs"]) != "[r1]" || got["history_note"] != nil || got["expired_runs"] != nil {
		t.Errorf("audit %s", rec.Body)
	}
	entries := got["entries"].([]any)
	var kinds []string
	for _, e := range entries {
		m := e.(map[string]any)
		kinds = append(kinds, fmt.Sprint(m["source"], "/", m["kind"]))
	}
	if strings.Join(kinds, " ") != "history/workflow_started ledger/repayment_applied history/update_accepted history/update_completed notice/notice" {
		t.Errorf("entries %v", kinds)
	}
	upd := entries[2].(map[string]any)
	if upd["name"] != "pause" || upd["identity"] != "ops@host" || upd["update_id"] != "pause/k1" || upd["event_id"] != nil ||
		upd["id"] != float64(5) || upd["event_type"] != "WorkflowExecutionUpdateAccepted" || upd["run_id"] != "r1" {
		t.Errorf("update entry %v", upd)
	}
	if led := entries[1].(map[string]any); led["amount"] != "100.00" || led["identity"] != nil {
		t.Errorf("ledger entry %v", led)
	}

	rec = ta.do(t, "GET", "/v1/loans/L-1/audit?format=csv", "")
	wantCode(t, rec, 200)
	records, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, rec.Body)
	}
	header := strings.Join(records[0], ",")
	if !strings.HasPrefix(header, "at,source,id,loan_id,kind,") || !strings.HasSuffix(header, ",run_id,recorded_at,event_type,name,identity,update_id,timer_id") {
		t.Errorf("header %s", header)
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[h] = i
	}
	if len(records) != 2+len(entries) {
		t.Fatalf("%d records, want header, state and %d entries:\n%s", len(records), len(entries), rec.Body)
	}
	state := records[1]
	if state[col["source"]] != "history" || state[col["kind"]] != "history_complete" || state[col["detail"]] != `{"runs":["r1"]}` || state[col["at"]] != "" {
		t.Errorf("state row %v", state)
	}
	u := records[2+2]
	if u[col["kind"]] != "update_accepted" || u[col["name"]] != "pause" || u[col["identity"]] != "ops@host" || u[col["update_id"]] != "pause/k1" || u[col["id"]] != "5" {
		t.Errorf("update row %v", u)
	}
	if n := records[len(records)-1]; n[col["recipient"]] != "'+8613800138000" {
		t.Errorf("notice row %v", n)
	}
}

// Past Temporal's retention the export answers from the ledger and
// notices and says the history expired: "history":"expired" in JSON, a
// history_expired row first in CSV.
func TestAuditHistoryExpired(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	ta := newTestAPI(t, func(d *Deps) { d.History = &fakeHistory{} })
	ta.st.timeline = []store.TimelineEntry{pgRow(t0, store.SourceLedger, "loan_started", "r0", 0), pgRow(t0, store.SourceNotice, "notice", "r0", 60)}

	rec := ta.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 200)
	var a Audit
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if a.History != HistoryExpired || !strings.Contains(a.HistoryNote, "retention") || !slices.Equal(a.ExpiredRuns, []string{"r0"}) ||
		len(a.Entries) != 2 || rowsOf(a.Entries) != "ledger/loan_started notice/notice" || rec.Header().Get("Audit-History") != "expired" {
		t.Errorf("audit %s", rec.Body)
	}

	rec = ta.do(t, "GET", "/v1/loans/L-1/audit?format=csv", "")
	wantCode(t, rec, 200)
	records, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil || len(records) != 4 || records[1][1] != "history" || records[1][4] != "history_expired" || !strings.Contains(records[1][9], "retention") {
		t.Errorf("csv (%v):\n%s", err, rec.Body)
	}

	// An id nobody knows: neither history nor rows.
	ta.st.timeline = nil
	rec = ta.do(t, "GET", "/v1/loans/L-2/audit", "")
	wantCode(t, rec, 200)
	if got := decode(t, rec); got["history"] != HistoryNone || fmt.Sprint(got["entries"]) != "[]" || fmt.Sprint(got["runs"]) != "[]" {
		t.Errorf("unknown loan: %s", rec.Body)
	}
}

// With Temporal down the export still answers 200 from PostgreSQL, says
// the history is unavailable (JSON, CSV, a header) and logs it; with the
// database down it answers 503.
func TestAuditHistoryUnavailable(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	fh := &fakeHistory{err: fmt.Errorf("failed reaching server: %w", errDown)}
	ta := newTestAPI(t, func(d *Deps) { d.History = fh })
	ta.tc.down = true
	ta.st.timeline = []store.TimelineEntry{pgRow(t0, store.SourceLedger, "loan_started", "r0", 0)}

	rec := ta.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 200)
	var a Audit
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if a.History != HistoryUnavailable || !strings.Contains(a.HistoryNote, "Temporal did not answer") || len(a.Entries) != 1 ||
		a.ExpiredRuns != nil || rec.Header().Get("Audit-History") != "unavailable" {
		t.Errorf("audit %s", rec.Body)
	}
	if !strings.Contains(ta.logs.String(), "audit export without workflow history") {
		t.Errorf("not logged: %s", ta.logs)
	}
	rec = ta.do(t, "GET", "/v1/loans/L-1/audit?format=csv", "")
	wantCode(t, rec, 200)
	if lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "history_unavailable") {
		t.Errorf("csv:\n%s", rec.Body)
	}

	// Nothing configured to read histories with (the fake Temporal is no
	// HistoryReader): the same answer.
	plain := newTestAPI(t)
	plain.st.timeline = ta.st.timeline
	rec = plain.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 200)
	if got := decode(t, rec); got["history"] != HistoryUnavailable {
		t.Errorf("no reader: %s", rec.Body)
	}

	ta.st.err = fmt.Errorf("timeline of loan L-1: %w", ErrUnavailable)
	rec = ta.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 503)
}

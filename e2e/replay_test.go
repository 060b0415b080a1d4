package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"dunning/codec"
	"dunning/internal/demo"
	"dunning/internal/replay"
	"dunning/internal/testenv"
	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// runningOn is the visibility query of the loans running on one test's queue.
func runningOn(queue string) string {
	return fmt.Sprintf("%s AND TaskQueue = '%s'", replay.DefaultQuery, queue)
}

// startSending starts n overdue loans on queue through c and waits until
// each has sent its catch-up notice (a history of several workflow tasks,
// activities and a timer) and visibility lists them all.
func (s *stack) startSending(c client.Client, queue string, n int) []string {
	s.t.Helper()
	var ids []string
	for i := range n {
		// A customer each: the caps count notices per address across loans.
		l := overdueLoan(s.t, 8)
		l.Customer = demo.Loan(40+i, 8, 1, "1000.00", policy.LocalDate(time.Now(), time.UTC), l.Customer.TimeZone).Customer
		if _, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: workflows.WorkflowID(l.LoanID), TaskQueue: queue,
		}, workflows.WorkflowType, workflows.Input{Loan: l, Policy: policy.Default()}); err != nil {
			s.t.Fatalf("start %s: %v", l.LoanID, err)
		}
		ids = append(ids, l.LoanID)
	}
	for _, id := range ids {
		eventually(s.t, 30*time.Second, "loan "+id+" sends its catch-up notice", func() (bool, string) {
			var seen []string
			for _, nt := range s.notices(id) {
				if nt.Status == store.NoticeSent {
					return true, ""
				}
				seen = append(seen, nt.Template+"/"+nt.Channel+" "+string(nt.Status)+" "+nt.Reason)
			}
			return false, strings.Join(seen, "; ")
		})
	}
	eventually(s.t, 20*time.Second, "visibility lists the loans", func() (bool, string) {
		res, err := s.c.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: runningOn(queue)})
		if err != nil {
			return false, err.Error()
		}
		return res.GetCount() == int64(n), fmt.Sprint(res.GetCount())
	})
	s.t.Cleanup(func() {
		for _, id := range ids {
			s.closeLoan(id)
		}
	})
	return ids
}

// collect gathers the results a replay reports.
func collect(out *[]replay.Result) func(replay.Result) {
	return func(r replay.Result) { *out = append(*out, r) }
}

// Loans running on the server replay against this build's workflow code,
// as `starter replay` runs it: downloaded through a visibility query, saved
// with -out (a second download keeps the files), replayed again from the
// saved files with -dir, and a saved history tampered with (an activity the
// code never schedules there) fails.
func TestReplayRunningLoans(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	s.startSending(s.c, queue, 2)

	p, err := replay.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "histories")
	var got []replay.Result
	if err := p.Cluster(context.Background(), s.c, runningOn(queue), 100, dir, collect(&got)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("replayed %d histories, want 2: %+v", len(got), got)
	}
	for _, r := range got {
		if !r.OK() || r.Events < 10 || r.Saved == "" || r.Kept {
			t.Errorf("%s: ok %v (%v), %d events, saved %q kept %v", r.Name, r.OK(), r.Err, r.Events, r.Saved, r.Kept)
		}
	}

	// -limit, and a second download into the same directory keeps the files.
	var again []replay.Result
	if err := p.Cluster(context.Background(), s.c, runningOn(queue), 1, dir, collect(&again)); err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || !again[0].OK() || !again[0].Kept {
		t.Errorf("second download with limit 1: %+v", again)
	}

	// CI replays the saved files later.
	var saved []replay.Result
	if err := p.Dir(dir, collect(&saved)); err != nil {
		t.Fatal(err)
	}
	if len(saved) != 2 || !saved[0].OK() || !saved[1].OK() {
		t.Errorf("replay of the saved histories: %+v", saved)
	}

	// A history the current code cannot have produced fails.
	tamper(t, saved[0].Name)
	var bad []replay.Result
	if err := p.Dir(dir, collect(&bad)); err != nil {
		t.Fatal(err)
	}
	if len(bad) != 2 || bad[0].OK() || !strings.Contains(bad[0].Err.Error(), "nondeterministic") || !bad[1].OK() {
		t.Errorf("after tampering with %s: %+v", saved[0].Name, bad)
	}
}

// An encrypted cluster's histories replay only with its keys: with the codec
// they replay; without it the workflow cannot read its input and the replay
// fails (so CI needs DUNNING_ENCRYPTION_KEYS too).
func TestReplayEncryptedLoanNeedsItsKeys(t *testing.T) {
	s := newStack(t)
	cdc, enc := encryptedClient(t)
	queue := testenv.Queue(t)
	testenv.StartWorker(t, enc, s.store, s.tmpl, s.sink, queue)
	s.startSending(enc, queue, 1)

	for _, tc := range []struct {
		name string
		cdc  *codec.Codec
		ok   bool
	}{{"with the keys", cdc, true}, {"without the keys", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := replay.New(nil)
			if tc.cdc != nil {
				p, err = replay.New(codec.DataConverter(tc.cdc))
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []replay.Result
			if err := p.Cluster(context.Background(), s.c, runningOn(queue), 100, "", collect(&got)); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].OK() != tc.ok {
				t.Fatalf("want one history, OK %v: %+v", tc.ok, got)
			}
			if !tc.ok && !strings.Contains(got[0].Err.Error(), codec.EnvVar) {
				t.Errorf("the failure should say the keys are missing: %v", got[0].Err)
			}
		})
	}
}

// tamper renames the first activity a saved history schedules.
func tamper(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	for _, e := range h["events"].([]any) {
		if a, ok := e.(map[string]any)["activityTaskScheduledEventAttributes"].(map[string]any); ok {
			a["activityType"] = map[string]any{"name": "SendNoticeV0"}
			break
		}
	}
	if b, err = json.Marshal(h); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

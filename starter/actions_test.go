package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"dunning/api"
	"dunning/workflows"
)

// fakeUpdates is an api.Temporal that records the updates it is sent and
// answers each with a snapshot; any other call panics (the embedded nil).
type fakeUpdates struct {
	api.Temporal
	sent []client.UpdateWorkflowOptions
}

func (f *fakeUpdates) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.sent = append(f.sent, o)
	return answered{}, nil
}

// answered is an update handle whose outcome is a small snapshot.
type answered struct{ client.WorkflowUpdateHandle }

func (answered) Get(_ context.Context, v any) error {
	return json.Unmarshal([]byte(`{"loan_id":"L-1","state":"paused"}`), v)
}

// Issue 8: pause, resume and close on the command line say who and why:
// -actor (default $DUNNING_ACTOR, else $USER) and -reason, both required and
// checked before anything reaches Temporal, both passed to the workflow.
func TestOperatorCommandsTakeActorAndReason(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		code    int
		update  string // the update sent, "" none
		arg     string // its argument as JSON
		wantErr string // on stderr
	}{
		{name: "pause", args: []string{"pause", "L-1", "-actor", "li.wei@lender.cn", "-reason", "hardship review"},
			code: exitOK, update: workflows.UpdatePause, arg: `{"actor":"li.wei@lender.cn","reason":"hardship review"}`},
		{name: "double-dash flags", args: []string{"pause", "--actor", "li.wei", "--reason", "hardship", "L-1"},
			code: exitOK, update: workflows.UpdatePause, arg: `{"actor":"li.wei","reason":"hardship"}`},
		{name: "actor from DUNNING_ACTOR", args: []string{"resume", "L-1", "-reason", "review done"},
			env:  map[string]string{"DUNNING_ACTOR": "ops.li@lender.cn", "USER": "li"},
			code: exitOK, update: workflows.UpdateResume, arg: `{"actor":"ops.li@lender.cn","reason":"review done"}`},
		{name: "actor from USER", args: []string{"close", "L-1", "-reason", "sold to agency"}, env: map[string]string{"USER": "li"},
			code: exitOK, update: workflows.UpdateClose, arg: `{"actor":"li","reason":"sold to agency"}`},
		{name: "-actor over the environment", args: []string{"close", "L-1", "-actor", "wang.fang", "-reason", "sold"},
			env:  map[string]string{"DUNNING_ACTOR": "ops.li@lender.cn"},
			code: exitOK, update: workflows.UpdateClose, arg: `{"actor":"wang.fang","reason":"sold"}`},
		{name: "pause without reason", args: []string{"pause", "L-1", "-actor", "li"}, code: exitFail, wantErr: "reason: must not be empty"},
		{name: "resume without reason", args: []string{"resume", "L-1", "-actor", "li"}, code: exitFail, wantErr: "reason: must not be empty"},
		{name: "close without reason", args: []string{"close", "L-1", "-actor", "li"}, code: exitFail, wantErr: "reason: must not be empty"},
		{name: "no actor anywhere", args: []string{"pause", "L-1", "-reason", "hardship"}, code: exitFail, wantErr: "actor: must not be empty"},
		{name: "actor with a space", args: []string{"resume", "L-1", "-actor", "Li Wei", "-reason", "done"}, code: exitFail,
			wantErr: "actor: \"Li Wei\": use only letters"},
		{name: "bad USER", args: []string{"close", "L-1", "-reason", "sold"}, env: map[string]string{"USER": "-x"}, code: exitFail,
			wantErr: "actor: \"-x\": must start with a letter or a digit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			f := &fakeUpdates{}
			c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return tc.env[k] },
				temporal: func(context.Context) (api.Temporal, func(), error) { return f, func() {}, nil }}
			if code := c.run(context.Background(), tc.args); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, stderr.String())
			}
			if tc.wantErr != "" && !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.wantErr)
			}
			if tc.update == "" {
				if len(f.sent) != 0 {
					t.Errorf("%d updates sent, want none", len(f.sent))
				}
				return
			}
			if len(f.sent) != 1 {
				t.Fatalf("%d updates sent, want 1", len(f.sent))
			}
			u := f.sent[0]
			if u.UpdateName != tc.update || u.WorkflowID != workflows.WorkflowID("L-1") || len(u.Args) != 1 {
				t.Fatalf("update %s to %s with %d args", u.UpdateName, u.WorkflowID, len(u.Args))
			}
			b, err := json.Marshal(u.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.arg {
				t.Errorf("argument %s, want %s", b, tc.arg)
			}
			if !strings.Contains(stdout.String(), `"state": "paused"`) {
				t.Errorf("stdout %q, want the snapshot", stdout.String())
			}
		})
	}
}

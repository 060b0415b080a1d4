package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replayCLI runs `starter replay args` with no environment.
func replayCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = c.run(context.Background(), append([]string{"replay"}, args...))
	return code, out.String(), errb.String()
}

// fixtures are the histories recorded from real runs (workflows/testdata).
func fixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "workflows", "testdata", "history-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories in workflows/testdata (%v)", err)
	}
	return files
}

func TestReplaySavedHistories(t *testing.T) {
	files := fixtures(t)
	code, stdout, stderr := replayCLI(t, "-dir", filepath.Join("..", "workflows", "testdata"))
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s%s", code, stdout, stderr)
	}
	for _, f := range files {
		if !strings.Contains(stdout, "OK   "+f+" (") {
			t.Errorf("no OK line for %s:\n%s", f, stdout)
		}
	}
	if want := "histories replayed: "; !strings.Contains(stdout, want) || strings.Contains(stdout, "\nFAIL ") {
		t.Errorf("summary:\n%s", stdout)
	}
}

// A history the current code cannot have produced (an activity it never
// schedules at that point, a workflow type it does not register) is a FAIL
// with the replayer's reason, and the command exits 1; the good history
// beside it still replays.
func TestReplayFailsOnIncompatibleHistory(t *testing.T) {
	good := fixtures(t)[0]
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, events []any)
		want   string
	}{
		{"wrong activity type", func(t *testing.T, events []any) {
			attrs := firstAttrs(t, events, "activityTaskScheduledEventAttributes")
			attrs["activityType"] = map[string]any{"name": "SendNoticeV0"}
		}, "nondeterministic"},
		{"another workflow type", func(t *testing.T, events []any) {
			attrs := firstAttrs(t, events, "workflowExecutionStartedEventAttributes")
			attrs["workflowType"] = map[string]any{"name": "LoanWorkflowV0"}
		}, "LoanWorkflowV0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyFile(t, good, filepath.Join(dir, "a-good.json"))
			b, err := os.ReadFile(good)
			if err != nil {
				t.Fatal(err)
			}
			var h map[string]any
			if err := json.Unmarshal(b, &h); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, h["events"].([]any))
			b, err = json.Marshal(h)
			if err != nil {
				t.Fatal(err)
			}
			bad := filepath.Join(dir, "b-tampered.json")
			if err := os.WriteFile(bad, b, 0o600); err != nil {
				t.Fatal(err)
			}

			code, stdout, stderr := replayCLI(t, "-dir", dir)
			if code != exitFail {
				t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "OK   "+filepath.Join(dir, "a-good.json")) ||
				!strings.HasPrefix(lines[1], "FAIL "+bad) || !strings.Contains(lines[1], tc.want) ||
				lines[2] != "2 histories replayed: 1 OK, 1 FAIL" {
				t.Errorf("want OK, FAIL mentioning %q, summary; got\n%s", tc.want, stdout)
			}
		})
	}
}

func TestReplayUnreadableHistoryFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.json"), []byte(`{"events": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := replayCLI(t, "-dir", dir); code != exitFail || !strings.Contains(stdout, "FAIL ") {
		t.Errorf("exit %d, want 1 with a FAIL line:\n%s", code, stdout)
	}
	// An empty directory is a mistake (a CI job that saved nothing), not a pass.
	if code, _, stderr := replayCLI(t, "-dir", t.TempDir()); code != exitFail || !strings.Contains(stderr, "no histories") {
		t.Errorf("empty directory: exit %d, stderr %q", code, stderr)
	}
}

func TestReplayUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-limit", "0"},
		{"-dir", "x", "-out", "y"},
		{"-dir", "x", "-query", "ExecutionStatus='Running'"},
		{"-closed", "24h", "-query", "ExecutionStatus='Running'"},
		{"-closed", "-1h"},
		{"extra"},
	} {
		if code, _, stderr := replayCLI(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2; stderr %s", args, code, stderr)
		}
	}
}

// firstAttrs is the attributes object named key of the first event that has one.
func firstAttrs(t *testing.T, events []any, key string) map[string]any {
	t.Helper()
	for _, e := range events {
		if a, ok := e.(map[string]any)[key].(map[string]any); ok {
			return a
		}
	}
	t.Fatalf("no event with %s", key)
	return nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

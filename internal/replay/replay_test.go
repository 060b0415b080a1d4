package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
)

func recorded(t *testing.T) (string, *historypb.History) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "workflows", "testdata", "history-*.json"))
	if len(files) == 0 {
		t.Fatal("no recorded histories in workflows/testdata")
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return files[0], h
}

// A saved history is never overwritten: a second save of the same run keeps
// the first file as it is. The file is the owner's only, and replays.
func TestSaveNeverOverwrites(t *testing.T) {
	_, h := recorded(t)
	dir := t.TempDir()
	path, kept, err := save(dir, "loan-L-1_r1.json", h)
	if err != nil || kept {
		t.Fatalf("first save: kept %v, err %v", kept, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.WriteFile(path, []byte("evidence"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, kept, err := save(dir, "loan-L-1_r1.json", h); err != nil || !kept {
		t.Fatalf("second save: kept %v, err %v", kept, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "evidence" {
		t.Errorf("the existing file was rewritten")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}

	// What save writes, Dir replays.
	dir2 := t.TempDir()
	if _, _, err := save(dir2, "x.json", h); err != nil {
		t.Fatal(err)
	}
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []Result
	if err := p.Dir(dir2, func(r Result) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].OK() || got[0].Events != len(h.Events) {
		t.Errorf("replay of the saved history: %+v", got)
	}
}

func TestFileName(t *testing.T) {
	got := fileName(workflow.Execution{ID: "loan-L-2026/0001 ../x", RunID: "0197-ab"})
	if got != "loan-L-2026_0001_.._x_0197-ab.json" || strings.ContainsAny(got, "/ ") {
		t.Errorf("fileName = %q", got)
	}
}

func TestQueries(t *testing.T) {
	if DefaultQuery != "WorkflowType = 'LoanWorkflow' AND ExecutionStatus = 'Running'" {
		t.Errorf("DefaultQuery = %s", DefaultQuery)
	}
	q := QueryWithClosed(time.Date(2026, 11, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	if q != "WorkflowType = 'LoanWorkflow' AND (ExecutionStatus = 'Running' OR CloseTime > '2026-11-01T00:00:00Z')" {
		t.Errorf("QueryWithClosed = %s", q)
	}
}

// An empty history is a FAIL with the replayer's reason, not a panic.
func TestEmptyHistoryFails(t *testing.T) {
	p, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Replay(&historypb.History{}, workflow.Execution{}); err == nil {
		t.Error("an empty history replayed")
	}
}

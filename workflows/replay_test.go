package workflows

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays histories recorded from real runs on
// the dev server (e2e tests with DUNNING_RECORD_HISTORIES=1). A change to the
// workflow that is not gated with workflow.GetVersion, or an SDK upgrade that
// reorders commands, fails here before it breaks running loans.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "history-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// What the replay must cover, by the names the e2e tests record under.
	for _, topic := range []string{"penalty", "charge-off", "pause-resume", "operator-updates", "continue-as-new",
		"partial-duplicate-full", "restart-paid-off", "compliance-second-check"} {
		found := false
		for _, f := range files {
			found = found || strings.Contains(filepath.Base(f), topic)
		}
		if !found {
			t.Errorf("no recorded history for %q in testdata/", topic)
		}
	}
	// And what the newest gate records: runs at points-1 send by SendPoint.
	points := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"name": "SendPoint"`) {
			points++
		}
	}
	if points < 5 {
		t.Errorf("%d recorded histories of runs at points-1 (SendPoint), want the e2e topics recorded under it", points)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			RegisterWorkflow(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// TestRecordedHistoriesAreNeverRewritten: a recorded history is evidence of
// what loans did, so it is never changed or removed; the sums files
// testdata/SHA256SUMS* list every one with its hash. Sums files are
// append-never too: a new recording gets a new name (the recorder never
// overwrites) and is listed in a new dated sums file beside the others
// (SHA256SUMS-<yyyymmdd>), so no file under testdata is ever edited.
func TestRecordedHistoriesAreNeverRewritten(t *testing.T) {
	sums, _ := filepath.Glob(filepath.Join("testdata", "SHA256SUMS*"))
	if len(sums) == 0 {
		t.Fatal("no testdata/SHA256SUMS*")
	}
	listed := map[string]bool{}
	for _, path := range sums {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			sum, name, ok := strings.Cut(sc.Text(), "  ")
			if !ok {
				t.Fatalf("%s: bad line %q", filepath.Base(path), sc.Text())
			}
			if listed[name] {
				t.Errorf("%s is listed twice", name)
			}
			listed[name] = true
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Errorf("%s is listed but unreadable (removed?): %v", name, err)
				continue
			}
			got := sha256.Sum256(b)
			if hex.EncodeToString(got[:]) != sum {
				t.Errorf("%s was rewritten: its hash is not the one recorded", name)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "history-*.json"))
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is in no testdata/SHA256SUMS*: list it in a new dated one (sha256sum %s > SHA256SUMS-<yyyymmdd>)", filepath.Base(f), filepath.Base(f))
		}
	}
}

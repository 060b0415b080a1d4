// Package replay checks that this build's loan workflow can carry on the
// loans that already run on a cluster. It downloads their histories (a
// visibility query, then GetWorkflowHistory) or reads histories saved
// earlier, and replays each against workflows.LoanWorkflow with the SDK's
// workflow replayer. A change to the workflow that is not gated with
// workflow.GetVersion fails here with the nondeterminism error a worker
// would hit, before a deploy breaks loans that run for years.
//
// `starter replay` is its command line; docs/PRODUCTION.md says how to use
// it before a release.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dunning/codec"
	"dunning/workflows"
)

// DefaultQuery selects the loans running now: the histories a new build
// must be able to carry on.
var DefaultQuery = fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.WorkflowType)

// QueryWithClosed is DefaultQuery plus the runs closed after since (a run
// that continued as new, completed or was closed recently).
func QueryWithClosed(since time.Time) string {
	return fmt.Sprintf("WorkflowType = '%s' AND (ExecutionStatus = 'Running' OR CloseTime > '%s')",
		workflows.WorkflowType, since.UTC().Format(time.RFC3339))
}

// downloadTimeout bounds the download of one history.
const downloadTimeout = time.Minute

// Result is the verdict on one history.
type Result struct {
	// Name is the run ("<workflow id> <run id>") or the file it came from.
	Name string
	// Events is the number of events in the history.
	Events int
	// Saved is the file the history was written to; Kept says it already
	// existed and was left as it was.
	Saved string
	Kept  bool
	// Err is why the history did not replay (nil: it replayed).
	Err error
}

// OK reports whether the history replayed.
func (r Result) OK() bool { return r.Err == nil }

// Replayer replays loan histories.
type Replayer struct {
	r  worker.WorkflowReplayer
	dc converter.DataConverter
}

// quiet is the replayer's logger: a failure is returned, with its reason,
// not logged as well.
var quiet = tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))

// New is a replayer of the loan workflow as this build has it. dc is the
// data converter the histories' payloads need: nil for plain JSON, the
// codec's (codec.DataConverter) for a cluster that runs encrypted; a history
// replayed without its keys fails, since the workflow cannot read its input.
func New(dc converter.DataConverter) (*Replayer, error) {
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: dc})
	if err != nil {
		return nil, fmt.Errorf("workflow replayer: %w", err)
	}
	workflows.RegisterWorkflow(r)
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	return &Replayer{r: r, dc: dc}, nil
}

// Replay replays one history. exec names the run it came from, when known
// (the workflow sees its own id and run id as they were).
func (p *Replayer) Replay(h *historypb.History, exec workflow.Execution) error {
	if err := p.readable(h); err != nil {
		return err
	}
	return p.r.ReplayWorkflowHistoryWithOptions(quiet, h, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec})
}

// readable checks that the run's input can be decoded. The replayer itself
// reports an input it cannot read (an encrypted history replayed without
// its keys) as an unrelated nondeterminism error.
func (p *Replayer) readable(h *historypb.History) error {
	if len(h.GetEvents()) == 0 {
		return nil // the replayer says what is wrong with it
	}
	started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	for _, pl := range started.GetInput().GetPayloads() {
		var v json.RawMessage
		if err := p.dc.FromPayload(pl, &v); err != nil {
			return fmt.Errorf("cannot read the run's input (%w): an encrypted history replays only with the keys it was written with (%s)", err, codec.EnvVar)
		}
	}
	return nil
}

// Cluster lists the runs query matches (at most limit, in the order
// visibility gives them), downloads each history and replays it, reporting
// each as it goes. With dir set it first saves each history there as JSON
// (the format of `temporal workflow show --output json`), never
// overwriting a file. The error is for the listing only; a history that
// could not be downloaded, saved or replayed is a failed Result.
func (p *Replayer) Cluster(ctx context.Context, c client.Client, query string, limit int, dir string, report func(Result)) error {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("histories directory: %w", err)
		}
	}
	var token []byte
	seen := 0
	for seen < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize: int32(min(limit-seen, 100)), Query: query, NextPageToken: token,
		})
		if err != nil {
			return fmt.Errorf("list workflows (%s): %w", query, err)
		}
		for _, e := range resp.GetExecutions() {
			if seen == limit {
				break
			}
			seen++
			exec := workflow.Execution{ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId()}
			report(p.one(ctx, c, exec, dir))
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return nil
}

// one downloads, saves and replays one run.
func (p *Replayer) one(ctx context.Context, c client.Client, exec workflow.Execution, dir string) Result {
	res := Result{Name: exec.ID + " " + exec.RunID}
	h, err := download(ctx, c, exec)
	if err != nil {
		res.Err = fmt.Errorf("download: %w", err)
		return res
	}
	res.Events = len(h.GetEvents())
	if dir != "" {
		res.Saved, res.Kept, err = save(dir, fileName(exec), h)
		if err != nil {
			res.Err = fmt.Errorf("save: %w", err)
			return res
		}
	}
	res.Err = p.Replay(h, exec)
	return res
}

// download reads a run's whole history.
func download(ctx context.Context, c client.Client, exec workflow.Execution) (*historypb.History, error) {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, exec.ID, exec.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, e)
	}
	return h, nil
}

// fileName is where a run's history is saved: its workflow id (characters
// that are unsafe in a file name replaced) and run id.
func fileName(exec workflow.Execution) string {
	safe := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
				return r
			}
			return '_'
		}, s)
	}
	return safe(exec.ID) + "_" + safe(exec.RunID) + ".json"
}

// save writes h to dir/name unless that file exists (then it is kept as it
// is: a saved history is evidence, and an earlier download of the same run
// is a prefix of this one). The file appears whole or not at all, readable
// by its owner only: without the codec a history holds the loan's data.
func save(dir, name string, h *historypb.History) (path string, kept bool, err error) {
	path = filepath.Join(dir, name)
	if _, err := os.Lstat(path); err == nil {
		return path, true, nil
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		return "", false, err
	}
	tmp, err := os.CreateTemp(dir, ".partial-*")
	if err != nil {
		return "", false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return "", false, err
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	// A hard link never replaces an existing name: if another run of the
	// command saved this history meanwhile, its file stays.
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return path, true, nil
		}
		return "", false, err
	}
	return path, false, nil
}

// Dir replays every history saved in dir (*.json, in name order). The error
// is for a directory that cannot be read or holds no history; a file that
// cannot be read or replayed is a failed Result.
func (p *Replayer) Dir(dir string, report func(Result)) error {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return fmt.Errorf("histories directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("no histories (*.json) in %s", dir)
	}
	for _, f := range files {
		report(p.file(f))
	}
	return nil
}

// file reads and replays one saved history.
func (p *Replayer) file(path string) Result {
	res := Result{Name: path}
	f, err := os.Open(path)
	if err != nil {
		res.Err = err
		return res
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		res.Err = fmt.Errorf("read history: %w", err)
		return res
	}
	res.Events = len(h.GetEvents())
	res.Err = p.Replay(h, workflow.Execution{})
	return res
}

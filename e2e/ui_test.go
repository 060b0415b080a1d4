package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/api/workflowservice/v1"

	"dunning/api"
	"dunning/internal/demo"
	"dunning/policy"
	"dunning/workflows"
)

// chromiumPath is Debian's Chromium, which scripts/ensure-chromium.sh installs.
const chromiumPath = "/usr/bin/chromium"

// webUI is the address of the test dev server's Web UI. Without it the test
// skips, except with CI=true, where it fails, as testenv.Temporal does.
func webUI(t *testing.T) string {
	t.Helper()
	ui := strings.TrimRight(os.Getenv("DUNNING_TEST_TEMPORAL_UI"), "/")
	if ui == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DUNNING_TEST_TEMPORAL_UI is not set: run `make test`, which starts the dev server with its Web UI")
		}
		t.Skip("DUNNING_TEST_TEMPORAL_UI is not set; `make test` serves the Web UI and sets it")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: run scripts/ensure-chromium.sh", chromiumPath)
		}
		t.Skipf("%s is missing; scripts/ensure-chromium.sh installs it", chromiumPath)
	}
	return ui
}

// browser starts headless Chromium with a profile of its own; the tab and
// the browser end with the test or after a minute, whichever comes first.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	// The first Run binds the browser's life to this context: one bound for
	// everything the test does in it.
	ctx, cancelTimeout := context.WithTimeout(tabCtx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc() // waits for the browser to exit, before TempDir is removed
	})
	return ctx
}

// pageText polls the text the page shows until ok accepts it; the UI is a
// single-page app that renders after its own API calls, so a loaded page
// says nothing yet.
func pageText(ctx context.Context, t *testing.T, what string, ok func(string) bool) string {
	t.Helper()
	last := ""
	for {
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err == nil {
			if ok(text) {
				return text
			}
			last = text
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not before the browser's deadline (%v); the page showed:\n%s", what, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// uiQuery encodes a visibility query for the UI's ?query= parameter, with
// %20 for spaces, which every decoder reads the same way.
func uiQuery(q string) string {
	return strings.ReplaceAll(url.QueryEscape(q), "+", "%20")
}

// An operator finds overdue loans in the Temporal Web UI by our search
// attributes, and opens one to see what it is: the real UI, in a real
// browser, against the test dev server.
func TestWebUIFindsLoansBySearchAttributes(t *testing.T) {
	ui := webUI(t)
	s := newStack(t)
	queue := queueName(t)
	s.startWorker(queue) // runs until the loans are closed: the UI's current details need it

	overdue := overdueLoan(t, 40)
	current := overdueLoan(t, -10) // due in 10 days
	current.LoanID = fmt.Sprintf("L-E2E-CUR-%d", time.Now().UnixNano())
	ctx := context.Background()
	for _, l := range []policy.Loan{overdue, current} {
		if _, err := api.StartLoan(ctx, s.c, l, policy.Default(), queue); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { closeLoans(t, s, overdue.LoanID, current.LoanID) })
	overdueID, currentID := workflows.WorkflowID(overdue.LoanID), workflows.WorkflowID(current.LoanID)

	// The list below must show one and not the other: wait until visibility
	// knows both, so the absence of the current loan means something.
	for _, q := range []string{
		fmt.Sprintf(`LoanState = "overdue" AND DaysPastDue > 30 AND LoanId = %q`, overdue.LoanID),
		fmt.Sprintf(`LoanState = "current" AND LoanId = %q`, current.LoanID),
	} {
		eventually(t, 30*time.Second, "visibility answers "+q, func() (bool, string) {
			res, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: q})
			if err != nil {
				return false, err.Error()
			}
			return len(res.Executions) == 1, fmt.Sprintf("%d executions", len(res.Executions))
		})
	}

	b := browser(t)
	filter := `LoanState = "overdue" AND DaysPastDue > 30`
	if err := chromedp.Do(b, chromedp.Navigate(ui+"/namespaces/default/workflows?query="+uiQuery(filter))); err != nil {
		t.Fatalf("open the workflow list: %v", err)
	}
	text := pageText(b, t, "the list filtered by "+filter+" shows "+overdueID, func(text string) bool {
		return strings.Contains(text, overdueID)
	})
	if strings.Contains(text, currentID) {
		t.Errorf("the list filtered by %s shows the current loan %s", filter, currentID)
	}
	os.WriteFile("/tmp/ui-list.txt", []byte(text), 0o644)
	shot, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot of the list: %v", err)
	}
	path := filepath.Join(t.ArtifactDir(), "workflows-overdue.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/ui-list.png", shot, 0o644)
	t.Logf("screenshot of the filtered list: %s", path)

	if err := chromedp.Do(b, chromedp.Navigate(ui+"/namespaces/default/workflows/"+url.PathEscape(overdueID))); err != nil {
		t.Fatalf("open %s: %v", overdueID, err)
	}
	text = pageText(b, t, overdueID+" shows its summary", func(text string) bool {
		return strings.Contains(text, "Loan "+overdue.LoanID)
	})
	time.Sleep(3 * time.Second)
	shot, _ = chromedp.Run(b, chromedp.CaptureScreenshot())
	os.WriteFile("/tmp/ui-wf.png", shot, 0o644)
	html, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.body.outerHTML`))
	os.WriteFile("/tmp/ui-wf.html", []byte(html), 0o644)
	for _, tab := range []string{"user-metadata", "search-attributes"} {
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`[data-testid="`+tab+`-tab"]`))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		text, _ = chromedp.Run(b, chromedp.Evaluate[string](`document.body.innerText`))
		os.WriteFile("/tmp/ui-"+tab+".txt", []byte(text), 0o644)
		html, _ := chromedp.Run(b, chromedp.Evaluate[string](`document.body.outerHTML`))
		os.WriteFile("/tmp/ui-"+tab+".html", []byte(html), 0o644)
		shot, _ = chromedp.Run(b, chromedp.CaptureScreenshot())
		os.WriteFile("/tmp/ui-"+tab+".png", shot, 0o644)
	}
	loc, _ := chromedp.Run(b, chromedp.Location())
	t.Log(loc)
}

// closeLoans ends the test's loans with the close signal while the worker
// still runs, and terminates any that has not finished a little later.
func closeLoans(t *testing.T, s *stack, loanIDs ...string) {
	t.Helper()
	for _, id := range loanIDs {
		wid := workflows.WorkflowID(id)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := s.c.SignalWorkflow(ctx, wid, "", workflows.SignalClose, workflows.CloseSignal{Reason: "test over"})
		if err == nil {
			err = s.c.GetWorkflow(ctx, wid, "").Get(ctx, nil)
		}
		cancel()
		if err != nil {
			t.Logf("close %s: %v; terminating it", wid, err)
			if err := s.c.TerminateWorkflow(context.Background(), wid, "", "test over"); err != nil {
				t.Errorf("terminate %s: %v", wid, err)
			}
		}
	}
}

var _ = demo.Loan

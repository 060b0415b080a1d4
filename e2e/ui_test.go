package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/api/workflowservice/v1"

	"dunning/api"
	"dunning/codec"
	"dunning/internal/demo"
	"dunning/internal/testenv"
	"dunning/policy"
	"dunning/workflows"
)

// chromiumPath is Debian's Chromium, which scripts/ensure-chromium.sh installs.
const chromiumPath = "/usr/bin/chromium"

// webUI is the address of the test dev server's Web UI (DUNNING_TEST_TEMPORAL_UI).
// Without it or without Chromium the test skips, except with CI=true, where
// it fails, as testenv.Temporal does.
func webUI(t *testing.T) string {
	t.Helper()
	ui := strings.TrimRight(os.Getenv("DUNNING_TEST_TEMPORAL_UI"), "/")
	if ui == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DUNNING_TEST_TEMPORAL_UI is not set: run `make test`, which serves the dev server's Web UI")
		}
		t.Skip("DUNNING_TEST_TEMPORAL_UI is not set; `make test` serves the dev server's Web UI and sets it")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: run scripts/ensure-chromium.sh", chromiumPath)
		}
		t.Skipf("%s is missing; scripts/ensure-chromium.sh installs it", chromiumPath)
	}
	return ui
}

// browser starts headless Chromium with a fresh profile. The browser ends
// with the test or after three minutes, whichever comes first (a loaded CI
// machine renders the UI slowly).
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
	// The first Run on ctx binds the browser's life to it: one bound for all
	// the test does in the browser.
	ctx, cancelTimeout := context.WithTimeout(tabCtx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc() // waits for the browser to exit, before its profile is removed
	})
	return ctx
}

// visibleText is the text the page shows, with the frames in which the UI
// renders summaries and details (same-origin /render iframes), whitespace
// collapsed.
const visibleText = `(() => {
	const parts = [document.body ? document.body.innerText : ""];
	for (const f of document.querySelectorAll("iframe")) {
		try { parts.push(f.contentDocument?.body?.innerText ?? ""); } catch (e) {}
	}
	return parts.join(" ").replace(/\s+/g, " ");
})()`

// waitTextFor bounds how long waitText waits for the page.
const waitTextFor = 40 * time.Second

// waitText polls the page's text until ok accepts it, for at most
// waitTextFor. The UI is a single-page app that renders after its own API
// calls, so a loaded page says nothing yet; one whose calls failed (a dev
// server slow to answer on a loaded machine leaves it at "Select a
// Namespace") is reloaded once, half way. On failure it saves a screenshot
// and shows the text.
func waitText(b context.Context, t *testing.T, what string, ok func(string) bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b, waitTextFor)
	defer cancel()
	reload := time.After(waitTextFor / 2)
	last := ""
	for {
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](visibleText))
		if err == nil && ok(text) {
			return text
		}
		if err == nil {
			last = text
		}
		select {
		case <-ctx.Done():
			shot := ""
			if png, err := chromedp.Run(b, chromedp.CaptureScreenshot()); err == nil {
				shot = filepath.Join(t.ArtifactDir(), "failed.png")
				_ = os.WriteFile(shot, png, 0o644)
			}
			loc, _ := chromedp.Run(b, chromedp.Location())
			t.Fatalf("%s: not within %s (%v); %s (screenshot %s) showed: %s", what, waitTextFor, ctx.Err(), loc, shot, last)
		case <-reload:
			_ = chromedp.Do(ctx, chromedp.Reload())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// containsAll reports whether text holds every one of parts.
func containsAll(text string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(text, p) {
			return false
		}
	}
	return true
}

// An operator finds overdue loans in the Temporal Web UI by our search
// attributes and opens one to see where it stands: the UI that the dev
// server serves, in headless Chromium.
func TestWebUIFindsLoansBySearchAttributes(t *testing.T) {
	ui := webUI(t)
	s := newStack(t)
	queue := queueName(t)
	// The worker runs until the loans are closed: the UI asks it for the
	// current details through a built-in query.
	s.startWorker(queue)

	overdue := overdueLoan(t, 40)
	now := time.Now()
	tz := demo.DaytimeZone(now)
	loc, _ := time.LoadLocation(tz)
	current := demo.Loan(2, -10, 2, "1000.00", policy.LocalDate(now, loc), tz) // first due in 10 days
	current.LoanID = fmt.Sprintf("L-E2E-CUR-%d", now.UnixNano())
	ctx := context.Background()
	for _, l := range []policy.Loan{overdue, current} {
		if _, err := api.StartLoan(ctx, s.c, l, policy.Default(), queue); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { closeLoans(t, s, overdue.LoanID, current.LoanID) })
	overdueID, currentID := workflows.WorkflowID(overdue.LoanID), workflows.WorkflowID(current.LoanID)

	// Wait until visibility knows both, so that the current loan missing from
	// the filtered list below means the filter left it out.
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

	// The list filtered as an operator would: the overdue loan, not the
	// current one, and the filter shown as chips.
	filter := `LoanState = "overdue" AND DaysPastDue > 30`
	// %20, not +, for spaces: the UI's decoder and any other read it alike.
	list := ui + "/namespaces/default/workflows?query=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
	if err := chromedp.Do(b, chromedp.Navigate(list)); err != nil {
		t.Fatalf("open %s: %v", list, err)
	}
	waitText(b, t, "the list filtered by "+filter+" shows "+overdueID+" and not "+currentID, func(text string) bool {
		return containsAll(text, `LoanState = "overdue"`, "DaysPastDue > 30", overdueID) &&
			!strings.Contains(text, currentID)
	})
	png, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot of the list: %v", err)
	}
	// t.ArtifactDir is t.TempDir unless `go test -artifacts` keeps it.
	shot := filepath.Join(t.ArtifactDir(), "workflows-overdue.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the filtered list: %s", shot)

	// The loan's page (the UI redirects to its latest run), then its User
	// Metadata tab: the static summary from the start and the current
	// details from the worker.
	page := ui + "/namespaces/default/workflows/" + url.PathEscape(overdueID)
	if err := chromedp.Do(b, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	waitText(b, t, overdueID+"'s page", func(text string) bool {
		return containsAll(text, overdueID, "User Metadata", "Search Attributes")
	})
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`[data-testid="user-metadata-tab"]`))); err != nil {
		t.Fatalf("open the User Metadata tab: %v", err)
	}
	summary := fmt.Sprintf("Loan %s · CNY · 2 installments · policy default", overdue.LoanID)
	waitText(b, t, overdueID+"'s summary and current details", func(text string) bool {
		return containsAll(text, summary, "overdue · DPD 40 (31-60)")
	})

	// Its Search Attributes tab: the values the list filtered on.
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`[data-testid="search-attributes-tab"]`))); err != nil {
		t.Fatalf("open the Search Attributes tab: %v", err)
	}
	waitText(b, t, overdueID+"'s search attributes", func(text string) bool {
		text = strings.ReplaceAll(text, " ", "")
		return containsAll(text, `"LoanId":"`+overdue.LoanID+`"`, `"LoanState":"overdue"`,
			`"DaysPastDue":40`, `"DelinquencyBucket":"31-60"`)
	})
}

// closeLoans ends the test's loans with the close signal while the worker
// still runs, and terminates any that has not finished 15 s later.
func closeLoans(t *testing.T, s *stack, loanIDs ...string) {
	t.Helper()
	for _, id := range loanIDs {
		wid := workflows.WorkflowID(id)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := s.c.SignalWorkflow(ctx, wid, "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "test over"})
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

// The Web UI reads an encrypted loan through the codec server: the page
// shows the loan's input decrypted (its customer's name), while the server
// stores ciphertext (TestHistoryHoldsNoPersonalData).
func TestWebUIDecryptsThroughTheCodecServer(t *testing.T) {
	ui := webUI(t)
	addr := os.Getenv("DUNNING_TEST_UI_CODEC")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DUNNING_TEST_UI_CODEC is not set: `make test` starts the dev server with --ui-codec-endpoint on it")
		}
		t.Skip("DUNNING_TEST_UI_CODEC is not set; `make test` sets it")
	}
	testenv.Temporal(t) // skips or fails without a dev server before anything listens
	cdc, enc := encryptedClient(t)
	origin := ui
	if u, err := url.Parse(ui); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("codec server on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: api.New(api.Deps{Temporal: enc,
		Codec: codec.Handler(cdc, codec.HandlerOptions{AllowOrigins: []string{origin, strings.Replace(origin, "127.0.0.1", "localhost", 1)}})})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	s := newStack(t)
	queue := queueName(t)
	testenv.StartWorker(t, enc, s.store, s.tmpl, s.sink, queue)
	l := overdueLoan(t, 2)
	l.Customer.Name = "欧阳娜娜"
	if _, err := api.StartLoan(context.Background(), enc, l, policy.Default(), queue); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = enc.SignalWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "test over"})
	})

	b := browser(t)
	page := ui + "/namespaces/default/workflows/" + url.PathEscape(workflows.WorkflowID(l.LoanID))
	if err := chromedp.Do(b, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	waitText(b, t, "the loan's input decrypted on its page", func(text string) bool {
		return containsAll(text, workflows.WorkflowID(l.LoanID), l.Customer.ID, l.Customer.Name)
	})
	png, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err == nil {
		shot := filepath.Join(t.ArtifactDir(), "decrypted-input.png")
		_ = os.WriteFile(shot, png, 0o644)
		t.Logf("screenshot of the decrypted input: %s", shot)
	}
}

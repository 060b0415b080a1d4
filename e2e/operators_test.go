package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"dunning/api"
	"dunning/channels"
	"dunning/internal/demo"
	"dunning/policies"
	"dunning/policy"
	"dunning/workflows"
)

// screenshotDir is where TestOperatorQuestions saves its screenshots:
// docs/operators with DUNNING_UPDATE_SCREENSHOTS=1 (to refresh the ones
// docs/OPERATORS.md shows), else the test's artifact directory.
func screenshotDir(t *testing.T) string {
	if os.Getenv("DUNNING_UPDATE_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "docs", "operators")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

// TestOperatorQuestions answers the questions of docs/OPERATORS.md the way
// the document says, in headless Chromium: the Web UI's list filtered by
// each query shows exactly the loans it should, and each API call answers
// what it should. Every answer is a screenshot (docs/operators/).
func TestOperatorQuestions(t *testing.T) {
	ui := webUI(t)
	s := newStack(t)
	queue := queueName(t)
	now := time.Now()
	nano := now.UnixNano()
	tz := demo.DaytimeZone(now)
	loc, _ := time.LoadLocation(tz)
	today := policy.LocalDate(now, loc)
	customer := fmt.Sprintf("C-OPS-%d", nano)

	// Four loans of one customer (each with a number and address of its
	// own): two far overdue, one overdue and to be paused, one not yet due.
	mk := func(name string, i, dpd int, principal string) policy.Loan {
		l := demo.Loan(i, dpd, 2, principal, today, tz)
		l.LoanID = fmt.Sprintf("L-OPS-%s-%d", name, nano)
		l.Customer.ID = customer
		l.Customer.Phone = fmt.Sprintf("+86139%08d", (nano/10+int64(i))%100000000)
		l.Customer.Email = fmt.Sprintf("ops%d-%d@example.cn", i, nano)
		return l
	}
	far := mk("FAR", 1, 40, "1000.00")
	big := mk("BIG", 2, 35, "20000.00")
	paused := mk("PAUSED", 3, 5, "1000.00")
	current := mk("CUR", 4, -10, "1000.00")
	loans := []policy.Loan{far, big, paused, current}

	// The far loan's email address is dead: its notice fails (and falls back).
	s.sink.Reject = func(m channels.Message) error {
		if m.To == far.Customer.Email {
			return fmt.Errorf("mailbox unavailable: %w", channels.ErrInvalidRecipient)
		}
		return nil
	}
	s.startWorker(queue)
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	const inboundToken = "e2e-inbound"
	srv := httptest.NewServer(api.New(api.Deps{Temporal: s.c, Store: s.store, Policies: reg, HasLocale: s.tmpl.Has,
		Token: "e2e-token", TaskQueue: queue, Delivery: s.store, Reports: s.store, InboundToken: inboundToken, BrandName: "安心借"}))
	defer srv.Close()
	for _, l := range loans {
		var started map[string]string
		if code := call(t, srv, "POST", "/v1/loans", l, &started); code != http.StatusCreated {
			t.Fatalf("start %s: %d %v", l.LoanID, code, started)
		}
	}
	t.Cleanup(func() { closeLoans(t, s, far.LoanID, big.LoanID, paused.LoanID, current.LoanID) })

	// An operator pauses one loan for ten days; the borrower of another
	// replies STOP.
	until := now.Add(10 * 24 * time.Hour).Truncate(time.Second)
	pause := map[string]any{"actor": "li.wei@lender.cn", "reason": "hardship: hospital stay", "until": until.Format(time.RFC3339)}
	if code := call(t, srv, "POST", "/v1/loans/"+paused.LoanID+"/pause", pause, nil); code != http.StatusOK {
		t.Fatalf("pause: %d", code)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/inbound/sms",
		strings.NewReader(fmt.Sprintf(`{"from":%q,"body":"STOP"}`, big.Customer.Phone)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+inboundToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("STOP reply: %v %v", resp, err)
	}
	resp.Body.Close()
	eventually(t, 30*time.Second, "the far loan's email fails", func() (bool, string) {
		got := sentTemplates(s.notices(far.LoanID))
		for _, n := range s.notices(far.LoanID) {
			if n.Channel == "email" && n.Status == "failed" {
				return true, got
			}
		}
		return false, got
	})

	// Visibility must know every loan's final state before the UI is asked.
	ctx := context.Background()
	next := map[string]time.Time{}
	eventually(t, 30*time.Second, "visibility sees the four loans settled", func() (bool, string) {
		res, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
			Query: fmt.Sprintf(`CustomerId = %q AND ExecutionStatus = "Running"`, customer)})
		if err != nil {
			return false, err.Error()
		}
		states := map[string]string{}
		for _, e := range res.Executions {
			states[e.Execution.WorkflowId] = attr[string](t, e.SearchAttributes.GetIndexedFields()["LoanState"])
			if p := e.SearchAttributes.GetIndexedFields()["NextReminderAt"]; p != nil {
				next[e.Execution.WorkflowId] = attr[time.Time](t, p)
			}
		}
		ok := len(states) == 4 && states[workflows.WorkflowID(paused.LoanID)] == "paused" &&
			states[workflows.WorkflowID(far.LoanID)] == "overdue" && states[workflows.WorkflowID(current.LoanID)] == "current" &&
			len(next) == 4
		return ok, fmt.Sprint(states, next)
	})
	if got := next[workflows.WorkflowID(paused.LoanID)]; !got.Equal(until) {
		t.Errorf("the paused loan's NextReminderAt is %s, want the pause's end %s", got, until)
	}
	// "Which reminders go out soon?": before a moment just after the earliest.
	soonest := slices.MinFunc(loans, func(a, b policy.Loan) int {
		return next[workflows.WorkflowID(a.LoanID)].Compare(next[workflows.WorkflowID(b.LoanID)])
	})
	soon := next[workflows.WorkflowID(soonest.LoanID)].Add(time.Minute).UTC().Format(time.RFC3339)

	b := browser(t)
	shots := screenshotDir(t)
	shoot := func(name string) {
		t.Helper()
		quality := int64(70)
		shot, err := chromedp.Call(b, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: &quality})
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".jpg"), shot.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scope := fmt.Sprintf(` AND CustomerId = %q`, customer)
	all := []policy.Loan{far, big, paused, current}
	uiQuestions := []struct {
		shot  string
		query string
		want  []policy.Loan
	}{
		{"01-overdue-30-days", `LoanState = "overdue" AND DaysPastDue >= 30`, []policy.Loan{far, big}},
		{"02-bucket-and-amount", `DelinquencyBucket = "31-60" AND OutstandingTotal > 10000`, []policy.Loan{big}},
		{"03-paused", `LoanState = "paused"`, []policy.Loan{paused}},
		{"04-reminders-soon", fmt.Sprintf(`ExecutionStatus = "Running" AND NextReminderAt < %q`, soon), []policy.Loan{soonest}},
		{"05-customer", fmt.Sprintf(`CustomerId = %q`, customer), all},
	}
	for _, q := range uiQuestions {
		filter := q.query
		if !strings.Contains(filter, "CustomerId") {
			filter += scope
		}
		list := ui + "/namespaces/default/workflows?query=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
		if err := chromedp.Do(b, chromedp.Navigate(list)); err != nil {
			t.Fatalf("open %s: %v", list, err)
		}
		waitText(b, t, q.shot+": "+filter, func(text string) bool {
			for _, l := range all {
				want := slices.ContainsFunc(q.want, func(w policy.Loan) bool { return w.LoanID == l.LoanID })
				if strings.Contains(text, workflows.WorkflowID(l.LoanID)) != want {
					return false
				}
			}
			return true
		})
		shoot(q.shot)
	}

	// Where one loan stands: its page, current details in User Metadata.
	loanPage := ui + "/namespaces/default/workflows/" + url.PathEscape(workflows.WorkflowID(far.LoanID))
	if err := chromedp.Do(b, chromedp.Navigate(loanPage)); err != nil {
		t.Fatal(err)
	}
	waitText(b, t, "the far loan's page", func(text string) bool { return containsAll(text, "User Metadata") })
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`[data-testid="user-metadata-tab"]`))); err != nil {
		t.Fatalf("open the User Metadata tab: %v", err)
	}
	waitText(b, t, "the far loan's current details", func(text string) bool { return containsAll(text, "overdue · DPD 40 (31-60)") })
	shoot("06-where-a-loan-stands")

	// The API's answers, as an operator's browser shows them.
	// The API asks for its token: a second browser sends it on every
	// request (not the first one: the Web UI would pass it on to Temporal).
	b = browser(t)
	if _, err := chromedp.Call(b, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer e2e-token"}}); err != nil {
		t.Fatal(err)
	}
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location()).Format(time.RFC3339)
	apiQuestions := []struct {
		shot, path string
		want       func(body string) bool
	}{
		{"07-failed-today", "/v1/notices?status=failed&channel=email&since=" + url.QueryEscape(since), func(body string) bool {
			return strings.Contains(body, far.LoanID) && strings.Contains(body, "invalid_recipient") &&
				!strings.Contains(body, far.Customer.Email) // masked
		}},
		{"08-opted-out", "/v1/opt-outs?channel=sms&since=" + url.QueryEscape(since), func(body string) bool {
			return strings.Contains(body, big.LoanID) && strings.Contains(body, `"keyword":"STOP"`) &&
				!strings.Contains(body, big.Customer.Phone)
		}},
		{"09-what-we-sent", "/v1/loans/" + far.LoanID + "/notices", func(body string) bool {
			// Catch-up sends the latest point only: the D+30 final notice.
			return containsAll(body, `"template":"final_notice"`, `"status":"sent"`, `"status":"failed"`, `"reason":"invalid_recipient"`)
		}},
		{"10-who-and-why", "/v1/loans/" + paused.LoanID + "/audit", func(body string) bool {
			return containsAll(body, `"source":"ledger"`, `"source":"history"`, "li.wei@lender.cn", "hardship: hospital stay")
		}},
	}
	for _, q := range apiQuestions {
		var body string
		eventually(t, 20*time.Second, q.shot, func() (bool, string) {
			if err := chromedp.Do(b, chromedp.Navigate(srv.URL+q.path)); err != nil {
				return false, err.Error()
			}
			var err error
			if body, err = chromedp.Run(b, chromedp.Evaluate[string](`document.body.innerText`)); err != nil {
				return false, err.Error()
			}
			return q.want(body), body
		})
		// Indented, as an operator would read it (jq, or the browser's
		// pretty-print).
		if _, err := chromedp.Run(b, chromedp.Evaluate[bool](prettyJSON)); err != nil {
			t.Fatalf("%s: pretty-print: %v", q.shot, err)
		}
		shoot(q.shot)
	}
}

// prettyJSON indents the JSON the browser shows.
const prettyJSON = `(() => {
	const pre = document.querySelector("pre");
	pre.textContent = JSON.stringify(JSON.parse(pre.textContent), null, 2);
	return true;
})()`

// attr decodes a search attribute's payload.
func attr[T any](t *testing.T, p *commonpb.Payload) T {
	t.Helper()
	var v T
	if p == nil {
		return v
	}
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		var syntax *json.SyntaxError
		if !errors.As(err, &syntax) {
			t.Fatalf("search attribute: %v", err)
		}
	}
	return v
}

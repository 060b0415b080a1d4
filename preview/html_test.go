package preview

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"

	"dunning/activities"
	"dunning/policy"
)

// chromiumPath is Debian's Chromium, which scripts/ensure-chromium.sh installs.
const chromiumPath = "/usr/bin/chromium"

// englishLoan is README's "Preview a policy" example: DESIGN.md's sample
// loan for a borrower who reads English, who pays 600.00 on D+5 and then
// nothing more.
func englishLoan() (policy.Loan, []Payment) {
	l := sampleLoan()
	l.Customer.Name, l.Customer.Locale = "Li Wei", "en"
	l.Installments = append(l.Installments, policy.Installment{Seq: 2, DueDate: policy.MustDate("2027-01-01"),
		Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("40.00"), Fee: decimal.Zero})
	return l, []Payment{{At: policy.MustDate("2026-12-06").At(shanghai, 10, 0), Amount: decimal.RequireFromString("600.00")}}
}

// The page stands alone: no script, and nothing fetched from anywhere (no
// src, no link, no url() in the style).
func TestHTMLSelfContained(t *testing.T) {
	l, pays := englishLoan()
	tl := run(t, l, pays...)
	var b bytes.Buffer
	if err := tl.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, re := range []string{`(?i)<script`, `(?i)\ssrc\s*=`, `(?i)<link`, `(?i)url\(`, `(?i)@import`, `(?i)https?://[^"<\s]*\.(css|js|png|svg|woff)`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("the page refers to something outside: %q", m)
		}
	}
	if !strings.Contains(page, `<svg id="balance"`) || strings.Count(page, `<g class="mark `) != len(tl.Points) {
		t.Errorf("the chart lacks its marks (%d points)", len(tl.Points))
	}
}

// The page opens in headless Chromium and shows the chart, with a mark per
// point, and the first message. With DUNNING_UPDATE_SCREENSHOTS=1 its
// screenshot is saved as docs/preview.png, the one README shows. Without
// Chromium the test skips, except with CI=true, where it fails.
func TestHTMLInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: run scripts/ensure-chromium.sh", chromiumPath)
		}
		t.Skipf("%s is missing; scripts/ensure-chromium.sh installs it", chromiumPath)
	}
	l, pays := englishLoan()
	// A brand in Latin letters: this machine's Chromium has no CJK font.
	tl, err := Run(context.Background(), l, Options{Policy: policy.Default(), Templates: renderer(t), Payments: pays,
		Brand: activities.Brand{Name: "AnXin"}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "preview.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(tabCtx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible("#balance")); err != nil {
		t.Fatal(err)
	}
	eval := func(expr string) int {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	marks := eval(`document.querySelectorAll("#balance g.mark").length`)
	chartWidth := eval(`Math.round(document.querySelector("#balance").getBoundingClientRect().width)`)
	total, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#balance path.total").getAttribute("d")`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if marks != len(tl.Points) || chartWidth < 400 || !strings.HasPrefix(total, "M") || strings.Count(total, "V") < 10 {
		t.Errorf("chart: %d marks for %d points, %d px wide, path %.60q", marks, len(tl.Points), chartWidth, total)
	}
	first := tl.Points[0].Message[0]
	for _, want := range []string{first.Title, oneLine(first.Text), "2026-11-28 10:12 CST", "charged_off"} {
		if !strings.Contains(oneLine(text), oneLine(want)) {
			t.Errorf("the page does not show %q", want)
		}
	}

	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.ArtifactDir()
	if os.Getenv("DUNNING_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, "preview.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

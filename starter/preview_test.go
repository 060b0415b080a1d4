package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const previewLoan = `{"loan_id":"L-2026-0001","currency":"CNY","policy":"default",
 "customer":{"id":"C-778","name":"Li Wei","phone":"+8613800138000","email":"li.wei@example.cn","push_token":"fcm-1","locale":"en","time_zone":"Asia/Shanghai"},
 "installments":[{"seq":1,"due_date":"2026-12-01","principal":"1000.00","interest":"45.00","fee":"0.00"}]}`

// runCLI runs the starter with args and stdin, no Temporal and no database.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = c.run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestPreviewCommand(t *testing.T) {
	code, out, errs := runCLI(t, previewLoan, "preview", "-f", "-", "--pay", "2026-12-06:1067.50")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"D+3     overdue_gentle", "paid to installment 1: penalty 2.50, late fee 20.00", "End: paid_off at 2026-12-06 12:00 CST"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCLI(t, previewLoan, "preview", "-f", "-", "-format", "json")
	if code != exitOK || !strings.Contains(out, `"state": "charged_off"`) || !strings.Contains(out, `"late_fee": "20.00"`) {
		t.Errorf("json: exit %d %s %s", code, errs, out)
	}
	html := filepath.Join(t.TempDir(), "p.html")
	if code, _, errs = runCLI(t, previewLoan, "preview", "-f", "-", "-format", "html", "-o", html); code != exitOK {
		t.Fatalf("html: exit %d %s", code, errs)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), `<svg id="balance"`) {
		t.Errorf("html: %v", err)
	}
}

// -policy-file previews under a policy read from YAML; -policy under a
// shipped one; bad input is a usage error or a named field.
func TestPreviewCommandPolicies(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../policies/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	soft := strings.Replace(strings.Replace(string(b), "name: default", "name: soft", 1), "grace_days: 3", "grace_days: 10", 1)
	if soft == string(b) || !strings.Contains(soft, "grace_days: 10") {
		t.Fatal("could not edit default.yaml into soft.yaml")
	}
	file := filepath.Join(dir, "soft.yaml")
	if err := os.WriteFile(file, []byte(soft), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, previewLoan, "preview", "-f", "-", "-policy-file", file, "-format", "json")
	if code != exitOK || !strings.Contains(out, `"policy": "soft"`) {
		t.Fatalf("exit %d %s", code, errs)
	}
	// Ten days of grace: nothing owed for lateness at D+7.
	var tl struct {
		Points []struct {
			Offset  int `json:"offset"`
			Balance struct {
				Penalty string `json:"penalty"`
				LateFee string `json:"late_fee"`
			} `json:"balance"`
		} `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &tl); err != nil {
		t.Fatal(err)
	}
	for _, p := range tl.Points {
		if p.Offset == 7 && (p.Balance.LateFee != "0.00" || p.Balance.Penalty != "0.00") {
			t.Errorf("soft policy at D+7: %+v", p.Balance)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"preview"}, exitUsage, "-f is required"},
		{[]string{"preview", "-f", "-", "-policy", "nope"}, exitFail, "policy"},
		{[]string{"preview", "-f", "-", "-policy", "default", "-policy-file", file}, exitUsage, "not both"},
		{[]string{"preview", "-f", "-", "-pay", "yesterday:5"}, exitUsage, "-pay yesterday:5"},
		{[]string{"preview", "-f", "-", "-format", "pdf"}, exitUsage, "table, json or html"},
	} {
		code, _, errs := runCLI(t, previewLoan, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d %q, want %d %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestSimulateCommand(t *testing.T) {
	code, book, errs := runCLI(t, "", "simulate", "-generate", "6", "-installments", "3", "-seed", "2")
	if code != exitOK || strings.Count(book, "\n") != 6 {
		t.Fatalf("generate: exit %d %s %q", code, errs, book)
	}
	file := filepath.Join(t.TempDir(), "book.jsonl")
	if err := os.WriteFile(file, []byte(book+`{"loan_id":"bad id"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "simulate", "-book", file, "-policy", "default", "-pay-model", "on-time=0.5,never=0.5", "-seed", "3")
	if code != exitFail || !strings.Contains(errs, "line 7") || !strings.Contains(errs, "1 loan(s)") {
		t.Errorf("an invalid loan: exit %d %s", code, errs)
	}
	if !strings.Contains(out, "Simulated 6 loans") || !strings.Contains(out, "SMS cost at 0.05 a segment") {
		t.Errorf("report:\n%s", out)
	}
	code, _, errs = runCLI(t, "", "simulate", "-book", file, "-pay-model", "on-time=2")
	if code != exitUsage || !strings.Contains(errs, "sum to 2") {
		t.Errorf("bad model: exit %d %s", code, errs)
	}
}

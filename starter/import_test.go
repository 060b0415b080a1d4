package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dunning/api"
	"dunning/policies"
	"dunning/policy"
)

// fakeStarter records the loans it is asked to start; ids in running are
// answered "already running", ids in finished ErrNotOpen, and down makes
// every start fail as an unreachable Temporal does.
type fakeStarter struct {
	mu       sync.Mutex
	started  []policy.Loan
	running  map[string]bool
	finished map[string]bool
	down     bool
}

func (f *fakeStarter) start(_ context.Context, l policy.Loan, p policy.Policy) (api.StartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	res := api.StartResult{LoanID: l.LoanID, WorkflowID: "loan-" + l.LoanID, RunID: "run"}
	switch {
	case f.down:
		return res, fmt.Errorf("start loan %s: temporal %w: connection refused", l.LoanID, api.ErrUnavailable)
	case f.finished[l.LoanID]:
		return res, fmt.Errorf("start loan %s: %w", l.LoanID, api.ErrNotOpen)
	case f.running[l.LoanID]:
		return res, nil
	}
	if p.Name == "" {
		return res, fmt.Errorf("no policy resolved for %s", l.LoanID)
	}
	f.started = append(f.started, l)
	res.Started = true
	return res, nil
}

func (f *fakeStarter) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.started {
		out = append(out, l.LoanID)
	}
	slices.Sort(out)
	return out
}

func newImporter(t *testing.T, f *fakeStarter, progress io.Writer) *importer {
	t.Helper()
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	hasLocale := func(l string) bool { return l == "zh-CN" || l == "en" }
	return &importer{
		check:       func(l policy.Loan) (policy.Policy, error) { return api.CheckLoanAt(l, reg, hasLocale, importNow) },
		start:       f.start,
		concurrency: 4,
		progress:    progress,
		every:       time.Millisecond,
	}
}

// importNow is the import tests' clock: a week after the loans' first due date.
var importNow = time.Date(2026, 12, 8, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// jsonLoan is one JSONL line for a two-installment CNY loan.
func jsonLoan(id, phone, due1 string) string {
	return fmt.Sprintf(`{"loan_id":%q,"currency":"CNY","customer":{"id":"C-%s","name":"张伟","phone":%q,"locale":"zh-CN","time_zone":"Asia/Shanghai"},`+
		`"installments":[{"seq":1,"due_date":%q,"principal":"1000.00","interest":"45.00","fee":"0.00"},`+
		`{"seq":2,"due_date":"2027-01-01","principal":"1000.00","interest":"40.00","fee":"0.00"}]}`, id, id, phone, due1)
}

// rejections renders a summary's rejections as "line: reason | reason".
func rejections(rs []rejection) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d %s: %s", r.Line, r.LoanID, strings.Join(r.Reasons, " | ")))
	}
	return out
}

// wantRejections checks each rejection starts with the wanted prefix.
func wantRejections(t *testing.T, got []rejection, want []string) {
	t.Helper()
	g := rejections(got)
	if len(g) != len(want) {
		t.Fatalf("rejections:\n%s\nwant %d:\n%s", strings.Join(g, "\n"), len(want), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(g[i], want[i]) {
			t.Errorf("rejection %d:\n got %s\nwant %s…", i, g[i], want[i])
		}
	}
}

func TestImportJSONL(t *testing.T) {
	lines := []string{
		jsonLoan("L-1", "+8613800138000", "2026-12-01"),
		"", // blank lines are skipped but counted
		jsonLoan("L-2", "13800138000", "2026-12-01"),     // line 3: bad phone
		jsonLoan("L-3", "+8613800138001", "2026-02-30"),  // line 4: bad date
		`{"loan_id":"L-4","currency":"CNY","amount":"1"`, // line 5: not JSON
		jsonLoan("L-1", "+8613800138000", "2026-12-01"),  // line 6: duplicate in file
		jsonLoan("L-RUN", "+8613800138002", "2026-12-01"),
		jsonLoan("L-DONE", "+8613800138003", "2026-12-01"),
		strings.Replace(jsonLoan("L-5", "+8613800138004", "2026-12-01"), `"currency":"CNY"`, `"currency":"CNY","unknown":1`, 1), // line 9
		jsonLoan("L-6", "+8613800138005", "2026-12-01"),
	}
	f := &fakeStarter{running: map[string]bool{"L-RUN": true}, finished: map[string]bool{"L-DONE": true}}
	var progress bytes.Buffer
	sum := newImporter(t, f, &progress).run(context.Background(), strings.NewReader("\uFEFF"+strings.Join(lines, "\n")+"\n"), readJSONL)

	if got := f.ids(); !slices.Equal(got, []string{"L-1", "L-6"}) {
		t.Errorf("started %v", got)
	}
	if sum.Started != 2 || sum.AlreadyRunning != 1 || len(sum.Failed) != 0 || sum.NotAttempted != 0 {
		t.Errorf("summary %+v", sum)
	}
	wantRejections(t, sum.Rejected, []string{
		"3 L-2: customer.phone: must be a valid E.164 number",
		"4 L-3: installments[0].due_date: date \"2026-02-30\": want YYYY-MM-DD",
		"5 : invalid JSON",
		"6 L-1: loan_id L-1: already on line 1 of this file",
		"8 L-DONE: loan_id: a loan with this id already finished",
		"9 L-5: unknown: unknown key",
	})
	if sum.ok() {
		t.Error("summary with rejections is ok")
	}
	if p := progress.String(); !strings.HasPrefix(p, "\rimported ") || !strings.HasSuffix(p, "\rimported 9/9\n") {
		t.Errorf("progress %q", p)
	}

	var out bytes.Buffer
	writeSummary(&out, sum)
	for _, want := range []string{
		"9 loans: 2 started, 1 already running, 6 rejected\n",
		"rejected: line 3 (loan L-2):\n    customer.phone: must be",
		"rejected: line 5:\n    invalid JSON",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

const csvHeaderLine = "loan_id,currency,policy,customer_id,name,phone,email,push_token,locale,time_zone,seq,due_date,principal,interest,fee\n"

func TestImportCSV(t *testing.T) {
	in := csvHeaderLine +
		// lines 2-3: a good loan of two installments
		"L-1,CNY,default,C-1,张伟,+8613800138000,zhang.wei@example.cn,,zh-CN,Asia/Shanghai,1,2026-12-01,1000.00,45.00,0.00\n" +
		"L-1,,,,,,,,,,2,2027-01-01,1000.00,40.00,\n" +
		// lines 4-5: JPY with decimals on its second row
		"L-2,JPY,,C-2,,+8613800138001,,,zh-CN,,1,2026-12-01,1000,0,0\n" +
		"L-2,JPY,,C-2,,+8613800138001,,,zh-CN,,2,2027-01-01,1000.50,0,0\n" +
		// line 6: bad due date and a seq that is not a number
		"L-3,CNY,,C-3,,+8613800138002,,,zh-CN,,one,2026-13-01,1000,0,0\n" +
		// lines 7-8: the customer changes within one loan
		"L-4,CNY,,C-4,,+8613800138003,,,zh-CN,,1,2026-12-01,1000,0,0\n" +
		"L-4,CNY,,C-4,,+8613800138009,,,zh-CN,,2,2027-01-01,1000,0,0\n" +
		// line 9: no reachable channel, dates fine
		"L-5,CNY,,C-5,,,,,zh-CN,,1,2026-12-01,1000,0,0\n" +
		// line 10: a quoted multi-line name does not shift the line numbers
		// after it (and is refused: a name holds no newline)
		"L-6,CNY,,C-6,\"Wang\nFang\",+8613800138004,,,zh-CN,,1,2026-12-01,1000,0,0\n" +
		// line 12: wrong number of fields
		"L-7,CNY,,C-7\n" +
		// line 13: second installment due before the first
		"L-8,CNY,,C-8,,+8613800138005,,,en,,1,2026-12-01,1000,0,0\n" +
		"L-8,CNY,,C-8,,+8613800138005,,,en,,2,2026-11-01,1000,0,0\n"
	f := &fakeStarter{}
	sum := newImporter(t, f, nil).run(context.Background(), strings.NewReader(in), readCSV)

	if got := f.ids(); !slices.Equal(got, []string{"L-1"}) {
		t.Errorf("started %v", got)
	}
	wantRejections(t, sum.Rejected, []string{
		"4 L-2: line 5, principal: 1000.5 has more decimals than JPY allows (0)",
		`6 L-3: line 6, seq: want a whole number, got "one" | line 6, due_date: date "2026-13-01": want YYYY-MM-DD`,
		`7 L-4: line 8, phone: "+8613800138009" differs from line 7 of the same loan`,
		"9 L-5: line 9, phone/email/push_token: no reachable channel",
		"10 L-6: line 10, name: must not contain control characters (found U+000A)",
		"12 L-7: line 12: has 4 fields, the header 15",
		"13 L-8: line 14, due_date: 2026-11-01 must be after the previous installment's (2026-12-01)",
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.started {
		if l.LoanID == "L-1" {
			if len(l.Installments) != 2 || l.Installments[1].Seq != 2 || !l.Installments[1].Fee.IsZero() ||
				l.Customer.Email != "zhang.wei@example.cn" || l.Installments[1].Interest.String() != "40" {
				t.Errorf("L-1 read as %+v", l)
			}
		}
	}
}

// TestImportRefusesHostileInput: what the API refuses, the import refuses
// too, naming the field (and, for CSV, the line and column).
func TestImportRefusesHostileInput(t *testing.T) {
	good := jsonLoan("L-1", "+8613800138000", "2026-12-01")
	swap := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("loan has no %s", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	var many []string
	for i := range 601 {
		due := time.Date(2026, 12+time.Month(i), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		many = append(many, fmt.Sprintf(`{"seq":%d,"due_date":%q,"principal":"10.00","interest":"0.00","fee":"0.00"}`, i+1, due))
	}
	manyLoan := good[:strings.Index(good, `"installments":[`)] + `"installments":[` + strings.Join(many, ",") + `]}`
	jsonl := []struct{ name, line, want string }{
		{"principal a number", swap(`"principal":"1000.00","interest":"45.00"`, `"principal":1000.00,"interest":"45.00"`),
			`installments[0].principal: want a decimal amount as a string such as "1234.50", got 1000.00`},
		{"interest an integer", swap(`"interest":"45.00"`, `"interest":45`), `installments[0].interest: want a decimal amount as a string`},
		{"fee missing", swap(`,"fee":"0.00"}`, `}`), "installments[0].fee: is required"},
		{"interest null", swap(`"interest":"40.00"`, `"interest":null`), "installments[1].interest: is required"},
		{"name with NUL", swap(`"张伟"`, `"张\u0000伟"`), "customer.name: must not contain control characters (found U+0000)"},
		{"name invalid UTF-8", swap(`"张伟"`, "\"M\xfcller\""), "customer.name: must be valid UTF-8"},
		{"name too long", swap(`"张伟"`, `"`+strings.Repeat("张", 201)+`"`), "customer.name: must be at most 200 characters"},
		{"loan_id dot dot", swap(`"loan_id":"L-1"`, `"loan_id":".."`), `loan_id: "..": must start with a letter or a digit`},
		{"due date 1970", swap(`"2026-12-01"`, `"1970-01-01"`), "installments[0].due_date: 1970-01-01 is out of range"},
		{"first due more than five years ago", swap(`"2026-12-01"`, `"2020-12-01"`), "installments[0].due_date: 2020-12-01 is more than 1826 days"},
		{"601 installments", manyLoan, "installments: must have at most 600 installments, got 601"},
	}
	var lines []string
	for i, tc := range jsonl { // one loan id a line: a repeated id is refused for that alone
		lines = append(lines, strings.Replace(tc.line, `"loan_id":"L-1"`, fmt.Sprintf(`"loan_id":"L-%d"`, i+1), 1))
	}
	f := &fakeStarter{}
	sum := newImporter(t, f, nil).run(context.Background(), strings.NewReader(strings.Join(lines, "\n")), readJSONL)
	if len(f.ids()) != 0 || len(sum.Rejected) != len(jsonl) {
		t.Fatalf("started %v, %d rejected; want none started, %d rejected:\n%s", f.ids(), len(sum.Rejected), len(jsonl), strings.Join(rejections(sum.Rejected), "\n"))
	}
	for i, tc := range jsonl {
		if got := strings.Join(sum.Rejected[i].Reasons, " | "); !strings.Contains(got, tc.want) {
			t.Errorf("%s: reasons %q; want %q", tc.name, got, tc.want)
		}
	}

	csvRows := []struct{ name, row, want string }{
		{"name invalid UTF-8", "L-1,CNY,,C-1,M\xfcller,+8613800138000,,,zh-CN,,1,2026-12-01,1000,0,0\n", "line 2, name: must be valid UTF-8"},
		{"name with a tab", "L-2,CNY,,C-2,\"Wang\tFang\",+8613800138000,,,zh-CN,,1,2026-12-01,1000,0,0\n", "line 3, name: must not contain control characters"},
		{"push token with ESC", "L-3,CNY,,C-3,,,,tok\x1b,zh-CN,,1,2026-12-01,1000,0,0\n", "line 4, push_token: must not contain control characters"},
		{"customer id dot", "L-4,CNY,,.,,+8613800138000,,,zh-CN,,1,2026-12-01,1000,0,0\n", `line 5, customer_id: ".": must start with a letter or a digit`},
		{"loan id leading dash", "-L5,CNY,,C-5,,+8613800138000,,,zh-CN,,1,2026-12-01,1000,0,0\n", `line 6, loan_id: "-L5": must start with a letter or a digit`},
		{"due date year 0", "L-6,CNY,,C-6,,+8613800138000,,,zh-CN,,1,0000-01-01,1000,0,0\n", "line 7, due_date: 0000-01-01 is out of range"},
		{"time zone too long", "L-7,CNY,,C-7,,+8613800138000,,,zh-CN," + strings.Repeat("z", 65) + ",1,2026-12-01,1000,0,0\n", "line 8, time_zone: must be at most 64 characters"},
	}
	in := csvHeaderLine
	for _, tc := range csvRows {
		in += tc.row
	}
	f = &fakeStarter{}
	sum = newImporter(t, f, nil).run(context.Background(), strings.NewReader(in), readCSV)
	if len(f.ids()) != 0 || len(sum.Rejected) != len(csvRows) {
		t.Fatalf("started %v, %d rejected; want none started, %d rejected:\n%s", f.ids(), len(sum.Rejected), len(csvRows), strings.Join(rejections(sum.Rejected), "\n"))
	}
	for i, tc := range csvRows {
		if got := strings.Join(sum.Rejected[i].Reasons, " | "); !strings.Contains(got, tc.want) {
			t.Errorf("%s: reasons %q; want %q", tc.name, got, tc.want)
		}
	}
}

func TestImportCSVHeader(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", "", "empty CSV"},
		{"unknown column", "loan_id,currency,customer_id,locale,seq,due_date,principal,colour\n", `unknown column "colour"`},
		{"missing column", "loan_id,currency,customer_id,seq,due_date,principal\n", "missing column(s) locale"},
		{"twice", "loan_id,loan_id\n", `column "loan_id" twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeStarter{}
			sum := newImporter(t, f, nil).run(context.Background(), strings.NewReader(tt.in), readCSV)
			if !strings.Contains(sum.ReadError, tt.wantErr) || sum.ok() {
				t.Errorf("read error %q, want %q", sum.ReadError, tt.wantErr)
			}
			if len(f.ids()) != 0 {
				t.Error("started loans from a bad file")
			}
		})
	}

	// Columns in another order, optional ones left out, a BOM and CRLF as a
	// spreadsheet writes them.
	in := "\uFEFFseq,due_date,principal,loan_id,currency,customer_id,locale,phone\r\n" +
		"1,2026-12-01,500,L-9,CNY,C-9,zh-CN,+8613800138000\r\n"
	f := &fakeStarter{}
	sum := newImporter(t, f, nil).run(context.Background(), strings.NewReader(in), readCSV)
	if !sum.ok() || sum.Started != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestImportCSVMalformed(t *testing.T) {
	in := csvHeaderLine +
		"L-1,CNY,,C-1,,+8613800138000,,,zh-CN,,1,2026-12-01,1000,0,0\n" +
		"L-2,CNY,,C-2,,+8613800138001,,,zh-CN,,1,2026-12-01,1000,0,0\n" +
		"L-2,CNY,,C-2,\"unterminated,+8613800138001,,,zh-CN,,2,2027-01-01,1000,0,0\n" +
		"L-3,CNY,,C-3,,+8613800138002,,,zh-CN,,1,2026-12-01,1000,0,0\n"
	f := &fakeStarter{}
	sum := newImporter(t, f, nil).run(context.Background(), strings.NewReader(in), readCSV)
	if got := f.ids(); !slices.Equal(got, []string{"L-1"}) {
		t.Errorf("started %v: a loan cut short by a malformed line must not start", got)
	}
	wantRejections(t, sum.Rejected, []string{"3 L-2: line 3: the loan's rows are cut short"})
	if !strings.Contains(sum.ReadError, "malformed CSV") {
		t.Errorf("read error %q", sum.ReadError)
	}
}

func TestImportStopsWhenTemporalIsDown(t *testing.T) {
	var lines []string
	for i := range 50 {
		lines = append(lines, jsonLoan(fmt.Sprintf("L-%d", i), "+8613800138000", "2026-12-01"))
	}
	f := &fakeStarter{down: true}
	im := newImporter(t, f, nil)
	im.concurrency = 2
	sum := im.run(context.Background(), strings.NewReader(strings.Join(lines, "\n")), readJSONL)
	if len(sum.Failed) == 0 || len(sum.Failed) > 4 || sum.NotAttempted == 0 || sum.total() != 50 {
		t.Errorf("failed %d, not attempted %d, total %d", len(sum.Failed), sum.NotAttempted, sum.total())
	}
	if sum.ok() {
		t.Error("a failed import is ok")
	}
}

func TestImportFormat(t *testing.T) {
	for _, tt := range []struct {
		format, file string
		wantCSV      bool
		wantErr      bool
	}{
		{"", "loans.csv", true, false},
		{"", "loans.CSV", true, false},
		{"", "loans.jsonl", false, false},
		{"", "-", false, false},
		{"csv", "-", true, false},
		{"", "loans.xlsx", false, true},
		{"xml", "loans.csv", false, true},
	} {
		read, err := importFormat(tt.format, tt.file)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q %q: err %v", tt.format, tt.file, err)
			continue
		}
		if err == nil && (fmt.Sprintf("%p", read) == fmt.Sprintf("%p", readCSV)) != tt.wantCSV {
			t.Errorf("%q %q: wrong reader", tt.format, tt.file)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, args := range [][]string{
		{"L-1", "-txn", "T-1", "-amount", "1.00"},
		{"-txn", "T-1", "L-1", "-amount", "1.00"},
		{"-txn", "T-1", "-amount", "1.00", "L-1"},
	} {
		c := &cli{stderr: io.Discard}
		fs := c.flags("repay")
		txn := fs.String("txn", "", "")
		amount := fs.String("amount", "", "")
		pos, err := parse(fs, args, 1)
		if err != nil || !slices.Equal(pos, []string{"L-1"}) || *txn != "T-1" || *amount != "1.00" {
			t.Errorf("%q: pos %q txn %q amount %q err %v", args, pos, *txn, *amount, err)
		}
	}
	c := &cli{stderr: io.Discard}
	if _, err := parse(c.flags("status"), nil, 1); err == nil {
		t.Error("status without a loan id parsed")
	}
	if _, err := parse(c.flags("status"), []string{"L-1", "L-2"}, 1); err == nil {
		t.Error("status with two loan ids parsed")
	}
}

func TestRunUsage(t *testing.T) {
	var stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := c.run(context.Background(), nil); code != exitUsage {
		t.Errorf("no command: exit %d", code)
	}
	if code := c.run(context.Background(), []string{"frobnicate"}); code != exitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	if code := c.run(context.Background(), []string{"close", "L-1"}); code != exitFail || !strings.Contains(stderr.String(), "reason: must not be empty") {
		t.Errorf("close without reason: exit %d, stderr %s", code, stderr.String())
	}
	stderr.Reset()
	if code := c.run(context.Background(), []string{"repay", "L-1", "-txn", "T-1", "-amount", "-5"}); code != exitFail || !strings.Contains(stderr.String(), "amount: must not be negative") {
		t.Errorf("negative repayment: exit %d, stderr %s", code, stderr.String())
	}
	stderr.Reset()
	c.stdin = strings.NewReader(jsonLoan("", "+8613800138000", "2026-12-01"))
	if code := c.run(context.Background(), []string{"start", "-f", "-"}); code != exitFail || !strings.Contains(stderr.String(), "loan_id: must not be empty") {
		t.Errorf("start of a bad loan: exit %d, stderr %s", code, stderr.String())
	}
}

func TestCheckExposure(t *testing.T) {
	for _, c := range []struct {
		addr, token, insecure string
		ok                    bool
	}{
		{"127.0.0.1:8080", "", "", true},
		{"localhost:8080", "", "", true},
		{"[::1]:8080", "", "", true},
		{":8080", "", "", false},
		{"0.0.0.0:8080", "", "", false},
		{"10.0.0.5:8080", "", "", false},
		{":8080", "secret", "", true},
		{":8080", "", "1", true},
		{":8080", "", "yes", false},
		{"nonsense", "", "", false},
	} {
		err := checkExposure(c.addr, c.token, c.insecure)
		if (err == nil) != c.ok {
			t.Errorf("checkExposure(%q, token %v, %q) = %v, want ok %v", c.addr, c.token != "", c.insecure, err, c.ok)
		}
	}
}

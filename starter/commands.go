package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dunning/api"
	"dunning/internal/temporalutil"
	"dunning/policies"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
	"dunning/workflows"
)

// Timeouts of the CLI's calls.
const (
	dialWait   = 10 * time.Second // for Temporal to answer at all
	cmdTimeout = 30 * time.Second // for one command's calls
)

// cmdStart: start -f loan.json|-.
func (c *cli) cmdStart(ctx context.Context, args []string) error {
	fs := c.flags("start")
	file := fs.String("f", "", "the loan as JSON: a file, or - for stdin")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *file == "" {
		return usagef("-f is required")
	}
	body, err := c.readInput(*file)
	if err != nil {
		return err
	}
	l, err := policy.DecodeLoan(bytes.NewReader(body))
	if err != nil {
		return c.reportInvalid("loan", err)
	}
	check, err := loanChecker()
	if err != nil {
		return err
	}
	p, err := check(l)
	if err != nil {
		return c.reportInvalid("loan", err)
	}
	st, err := c.optOutStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return c.withTemporal(ctx, func(ctx context.Context, tc api.Temporal) error {
		res, err := api.StartChecked(ctx, tc, st, l, p, "")
		if err != nil {
			return err
		}
		what := "started"
		if !res.Started {
			what = "already running"
		}
		fmt.Fprintf(c.stdout, "%s: loan %s, workflow %s, run %s\n", what, res.LoanID, res.WorkflowID, res.RunID)
		return nil
	})
}

// cmdImport: import -f loans.jsonl|loans.csv|- [-format jsonl|csv] [-concurrency 8].
func (c *cli) cmdImport(ctx context.Context, args []string) error {
	fs := c.flags("import")
	file := fs.String("f", "", "loans as JSONL (one loan per line) or CSV (one row per installment); - for stdin")
	format := fs.String("format", "", "jsonl or csv (default: from the file name's extension; jsonl for stdin)")
	concurrency := fs.Int("concurrency", 8, "loans started at once")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *file == "" {
		return usagef("-f is required")
	}
	if *concurrency < 1 || *concurrency > 256 {
		return usagef("-concurrency must be between 1 and 256")
	}
	read, err := importFormat(*format, *file)
	if err != nil {
		return err
	}
	in, closeIn, err := c.openInput(*file)
	if err != nil {
		return err
	}
	defer closeIn()
	check, err := loanChecker()
	if err != nil {
		return err
	}
	st, err := c.optOutStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tc, err := temporalutil.Dial(ctx, c.sdkLogger(), dialWait)
	if err != nil {
		return err
	}
	defer tc.Close()

	im := &importer{
		check: check,
		start: func(ctx context.Context, l policy.Loan, p policy.Policy) (api.StartResult, error) {
			ctx, cancel := context.WithTimeout(ctx, api.DefaultTimeout)
			defer cancel()
			return api.StartChecked(ctx, tc, st, l, p, "")
		},
		concurrency: *concurrency,
		progress:    c.stderr,
		every:       5 * time.Second,
	}
	if c.stderrIsTerminal {
		im.every = 200 * time.Millisecond
	}
	sum := im.run(ctx, in, read)
	writeSummary(c.stdout, sum)
	if !sum.ok() {
		return errReported
	}
	return nil
}

// importFormat picks the reader for -format, or for the file's extension.
func importFormat(format, file string) (func(io.Reader, func(loanItem) bool) error, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			format = "csv"
		case ".jsonl", ".ndjson", ".json", "":
			format = "jsonl"
		default:
			return nil, usagef("cannot tell the format of %s: give -format jsonl or -format csv", file)
		}
	}
	switch format {
	case "jsonl":
		return readJSONL, nil
	case "csv":
		return readCSV, nil
	}
	return nil, usagef("-format must be jsonl or csv, got %q", format)
}

// cmdRepay: repay <loan_id> -txn T -amount 100.00 [-paid-at RFC3339] [-currency C].
func (c *cli) cmdRepay(ctx context.Context, args []string) error {
	fs := c.flags("repay")
	txn := fs.String("txn", "", "the payment's transaction id (a repeat of one already applied changes nothing)")
	amount := fs.String("amount", "", "amount paid, as a decimal such as 100.00")
	paidAt := fs.String("paid-at", "", "when the borrower paid, RFC 3339 (default now)")
	currency := fs.String("currency", "", "currency of the amount; must be the loan's (optional)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	r := policy.Repayment{TxnID: *txn, Currency: *currency, PaidAt: time.Now()}
	var v policy.ValidationError
	if d, err := decimal.NewFromString(*amount); err != nil {
		v = append(v, policy.FieldError{Field: "amount", Problem: fmt.Sprintf(`want a decimal amount such as "100.00", got %q`, *amount)})
	} else {
		r.Amount = d
	}
	if *paidAt != "" {
		t, err := time.Parse(time.RFC3339, *paidAt)
		if err != nil {
			v = append(v, policy.FieldError{Field: "paid_at", Problem: fmt.Sprintf("want an RFC 3339 time such as 2026-12-08T10:00:00+08:00, got %q", *paidAt)})
		}
		r.PaidAt = t
	}
	if len(v) == 0 {
		if err := api.CheckRepayment(r, time.Now()); err != nil {
			return c.reportInvalid("repayment", err)
		}
	} else {
		return c.reportInvalid("repayment", v)
	}
	return c.withTemporal(ctx, func(ctx context.Context, t api.Temporal) error {
		snap, err := api.Repay(ctx, t, pos[0], r)
		if refused(c, pos[0], "repayment", err) {
			return errReported
		}
		if err != nil {
			return loanError(pos[0], err)
		}
		return c.printJSON(snap)
	})
}

// cmdStatus: status <loan_id>.
func (c *cli) cmdStatus(ctx context.Context, args []string) error {
	pos, err := parse(c.flags("status"), args, 1)
	if err != nil {
		return err
	}
	return c.withTemporal(ctx, func(ctx context.Context, t api.Temporal) error {
		snap, err := api.Status(ctx, t, pos[0])
		if err != nil {
			return loanError(pos[0], err)
		}
		return c.printJSON(snap)
	})
}

// operatorFlags adds -actor and -reason, who takes an operator action and
// why: both required, both kept in the ledger. The actor defaults to
// $DUNNING_ACTOR, else $USER (the login of the operator's own shell).
func (c *cli) operatorFlags(fs *flag.FlagSet) (actor, reason *string) {
	def := c.getenv("DUNNING_ACTOR")
	if def == "" {
		def = c.getenv("USER")
	}
	actor = fs.String("actor", def, "who takes the action: an operator id or work email (default $DUNNING_ACTOR, else $USER)")
	reason = fs.String("reason", "", "why (required)")
	return actor, reason
}

// cmdPause: pause <loan_id> -reason R [-actor A] [-until RFC3339].
func (c *cli) cmdPause(ctx context.Context, args []string) error {
	fs := c.flags("pause")
	actor, reason := c.operatorFlags(fs)
	until := fs.String("until", "", "end of the pause, RFC 3339 (default: until resumed)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	p := workflows.PauseSignal{Actor: *actor, Reason: *reason}
	if *until != "" {
		t, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			return c.reportInvalid("pause", policy.ValidationError{{Field: "until", Problem: fmt.Sprintf("want an RFC 3339 time, got %q", *until)}})
		}
		p.Until = &t
	}
	if err := api.CheckPause(p, time.Now()); err != nil {
		return c.reportInvalid("pause", err)
	}
	return c.signal(ctx, pos[0], workflows.SignalPause, p)
}

// cmdResume: resume <loan_id> -reason R [-actor A].
func (c *cli) cmdResume(ctx context.Context, args []string) error {
	fs := c.flags("resume")
	actor, reason := c.operatorFlags(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	r := workflows.ResumeSignal{Actor: *actor, Reason: *reason}
	if err := api.CheckResume(r); err != nil {
		return c.reportInvalid("resume", err)
	}
	return c.signal(ctx, pos[0], workflows.SignalResume, r)
}

// cmdClose: close <loan_id> -reason R [-actor A].
func (c *cli) cmdClose(ctx context.Context, args []string) error {
	fs := c.flags("close")
	actor, reason := c.operatorFlags(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	cl := workflows.CloseSignal{Actor: *actor, Reason: *reason}
	if err := api.CheckClose(cl); err != nil {
		return c.reportInvalid("close", err)
	}
	return c.signal(ctx, pos[0], workflows.SignalClose, cl)
}

// signal sends an operator action to a running loan as the update of that
// name and prints the workflow's verdict: the snapshot after the change, or
// its reason for refusing.
func (c *cli) signal(ctx context.Context, loanID, name string, arg any) error {
	return c.withTemporal(ctx, func(ctx context.Context, t api.Temporal) error {
		snap, err := api.Update(ctx, t, loanID, name, "", arg)
		if refused(c, loanID, name, err) {
			return errReported
		}
		if err != nil {
			return loanError(loanID, err)
		}
		return c.printJSON(snap)
	})
}

// refused prints the workflow's refusal of a request, if err is one.
func refused(c *cli, loanID, what string, err error) bool {
	var (
		rej *api.RejectedError
		con *api.ConflictError
	)
	switch {
	case errors.As(err, &rej):
		fmt.Fprintf(c.stderr, "%s rejected by loan %s: %s\n", what, loanID, rej.Message)
	case errors.As(err, &con):
		fmt.Fprintf(c.stderr, "%s refused by loan %s (conflict): %s\n", what, loanID, con.Message)
	default:
		return false
	}
	return true
}

// cmdAudit: audit <loan_id> [-format json|csv]. The same export as GET
// /v1/loans/{id}/audit (api.ExportAudit): ledger, notices and the workflow
// history of every run. Without PostgreSQL it fails; without Temporal (down,
// or past its retention) it prints the ledger and notices, says on stderr
// that the history part is missing, and succeeds.
func (c *cli) cmdAudit(ctx context.Context, args []string) error {
	fs := c.flags("audit")
	format := fs.String("format", "json", "json or csv")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *format != "json" && *format != "csv" {
		return usagef("-format must be json or csv, got %q", *format)
	}
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	st, err := store.Open(ctx, c.databaseURL())
	if err != nil {
		return fmt.Errorf("audit store (DATABASE_URL): %w", err)
	}
	defer st.Close()
	// A lazy client: it connects on the first history read, so an
	// unreachable Temporal costs the export its history part, not the
	// export (api.ExportAudit bounds that read).
	opts, err := temporalutil.Options(c.sdkLogger())
	if err != nil {
		return err
	}
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client for %s: %w", opts.HostPort, err)
	}
	defer tc.Close()
	a, err := api.ExportAudit(ctx, st, tc, pos[0])
	if err != nil {
		return err
	}
	if a.History != api.HistoryComplete {
		fmt.Fprintf(c.stderr, "workflow history %s: %s\n", a.History, a.HistoryNote)
	}
	if *format == "csv" {
		return api.WriteAuditCSV(c.stdout, a)
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("encode audit: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}

// optOutStore opens the audit store that start and import check opt-outs
// against (DATABASE_URL): a loan is never started without knowing whether
// its number replied STOP, so an unreachable database is an error.
func (c *cli) optOutStore(ctx context.Context) (*store.Store, error) {
	octx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	url := c.databaseURL()
	// The worker creates and migrates it too; whichever runs first does.
	if err := store.EnsureDatabase(octx, url); err != nil {
		return nil, fmt.Errorf("audit store (DATABASE_URL), needed to honour opt-outs before a start: %w", err)
	}
	if err := store.Migrate(octx, url); err != nil {
		return nil, fmt.Errorf("audit store (DATABASE_URL): %w", err)
	}
	st, err := store.Open(octx, url)
	if err != nil {
		return nil, fmt.Errorf("audit store (DATABASE_URL), needed to honour opt-outs before a start: %w", err)
	}
	return st, nil
}

// withTemporal connects to Temporal and runs f with a bounded context.
func (c *cli) withTemporal(ctx context.Context, f func(context.Context, api.Temporal) error) error {
	var (
		tc   api.Temporal
		done func()
	)
	if c.temporal != nil {
		t, closeT, err := c.temporal(ctx)
		if err != nil {
			return err
		}
		tc, done = t, closeT
	} else {
		t, err := temporalutil.Dial(ctx, c.sdkLogger(), dialWait)
		if err != nil {
			return err
		}
		tc, done = t, t.Close
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	return f(ctx, tc)
}

// loanError words the errors callers branch on for a person.
func loanError(loanID string, err error) error {
	switch {
	case errors.Is(err, api.ErrNotFound):
		return fmt.Errorf("loan %s not found (no workflow %s)", loanID, workflows.WorkflowID(loanID))
	case errors.Is(err, api.ErrNotOpen):
		return fmt.Errorf("loan %s: %w", loanID, api.ErrNotOpen)
	}
	return err
}

// loanChecker loads the shipped policies and templates and returns the loan
// validator the API uses too, with the clock at the time of each check (a
// loan whose first due date is more than five years old is refused).
func loanChecker() (func(policy.Loan) (policy.Policy, error), error) {
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	tr, err := templates.New()
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	return func(l policy.Loan) (policy.Policy, error) { return api.CheckLoanAt(l, reg, tr.Has, time.Now()) }, nil
}

// reportInvalid prints every field problem and returns errReported.
func (c *cli) reportInvalid(what string, err error) error {
	var v policy.ValidationError
	if !errors.As(err, &v) {
		return fmt.Errorf("invalid %s: %w", what, err)
	}
	fmt.Fprintf(c.stderr, "invalid %s:\n", what)
	for _, fe := range v {
		fmt.Fprintf(c.stderr, "    %s\n", fe.Error())
	}
	return errReported
}

// printJSON writes raw JSON indented.
func (c *cli) printJSON(raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("format answer: %w", err)
	}
	b.WriteByte('\n')
	_, err := c.stdout.Write(b.Bytes())
	return err
}

// readInput reads a whole file, or stdin for "-", at most 1 MiB (one loan).
func (c *cli) readInput(name string) ([]byte, error) {
	in, closeIn, err := c.openInput(name)
	if err != nil {
		return nil, err
	}
	defer closeIn()
	b, err := io.ReadAll(io.LimitReader(in, maxLine+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxLine {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxLine)
	}
	return b, nil
}

// openInput opens a file, or stdin for "-".
func (c *cli) openInput(name string) (io.Reader, func(), error) {
	if name == "-" {
		return c.stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("open input: %w", err)
	}
	return f, func() { _ = f.Close() }, nil
}

// flags is a flag set for a command that reports to c.stderr.
func (c *cli) flags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("starter "+cmd, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// parse parses args, which may mix flags and positional arguments
// ("repay L-1 -txn T" and "repay -txn T L-1" both work), and wants exactly
// npos positional arguments.
func parse(fs *flag.FlagSet, args []string, npos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("%s: see the flags above", fs.Name())
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) != npos {
		if npos == 1 {
			return nil, usagef("want a loan id")
		}
		return nil, usagef("unexpected argument %q", pos[0])
	}
	return pos, nil
}

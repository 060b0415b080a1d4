package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dunning/api"
	"dunning/internal/config"
	"dunning/policies"
	"dunning/policy"
	"dunning/preview"
	"dunning/templates"
)

// multiFlag is a flag given any number of times (-pay, -policy).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// cmdPreview: preview -f loan.json [-policy NAME | -policy-file FILE.yaml]
// [-pay DATE:AMOUNT ...] [-format table|json|html] [-o FILE].
func (c *cli) cmdPreview(ctx context.Context, args []string) error {
	fs := c.flags("preview")
	file := fs.String("f", "", "the loan as JSON: a file, or - for stdin")
	name := fs.String("policy", "", "run under this shipped policy instead of the loan's own")
	polFile := fs.String("policy-file", "", "run under the policy in this YAML file (named after the file)")
	format := fs.String("format", "table", "table, json or html")
	out := fs.String("o", "-", "write to this file instead of stdout")
	var pays multiFlag
	fs.Var(&pays, "pay", "a repayment DATE:AMOUNT (DATE is 2026-12-06 for noon local, 2026-12-06T10:00 local, or RFC 3339); repeatable")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *file == "":
		return usagef("-f is required")
	case *name != "" && *polFile != "":
		return usagef("give -policy or -policy-file, not both")
	case *format != "table" && *format != "json" && *format != "html":
		return usagef("-format must be table, json or html, got %q", *format)
	}
	body, err := c.readInput(*file)
	if err != nil {
		return err
	}
	l, err := policy.DecodeLoan(bytes.NewReader(body))
	if err != nil {
		return c.reportInvalid("loan", err)
	}
	reg, tr, err := previewDeps()
	if err != nil {
		return err
	}
	pol, err := previewPolicy(&l, reg, tr, *name, *polFile)
	if err != nil {
		return c.reportInvalid("loan", err)
	}
	loc, err := l.Location(pol)
	if err != nil {
		return c.reportInvalid("loan", err)
	}
	var payments []preview.Payment
	for _, p := range pays {
		pay, err := preview.ParsePayment(p, l.Currency, loc)
		if err != nil {
			return usagef("-pay %s: %v", p, err)
		}
		payments = append(payments, pay)
	}
	t, err := preview.Run(ctx, l, preview.Options{Policy: pol, Templates: tr, Brand: config.Brand(), Payments: payments})
	if err != nil {
		return err
	}
	return c.writeOut(*out, func(w io.Writer) error {
		switch *format {
		case "json":
			b, err := t.JSON()
			if err != nil {
				return err
			}
			_, err = w.Write(append(b, '\n'))
			return err
		case "html":
			return t.WriteHTML(w)
		}
		return t.WriteTable(w)
	})
}

// previewDeps are the shipped policies and templates.
func previewDeps() (*policy.Registry, *templates.Renderer, error) {
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		return nil, nil, fmt.Errorf("load policies: %w", err)
	}
	tr, err := templates.New()
	if err != nil {
		return nil, nil, fmt.Errorf("load templates: %w", err)
	}
	return reg, tr, nil
}

// previewPolicy validates l as the API does (without the age-of-debt check:
// a preview of an old loan starts nothing) and returns the policy to preview
// it under: the shipped one called name, the one in the YAML file polFile,
// or the loan's own.
func previewPolicy(l *policy.Loan, reg *policy.Registry, tr *templates.Renderer, name, polFile string) (policy.Policy, error) {
	if name != "" {
		l.Policy = name
	}
	if polFile == "" {
		return api.CheckLoan(*l, reg, tr.Has)
	}
	pol, err := loadPolicyFile(polFile)
	if err != nil {
		return policy.Policy{}, err
	}
	// The loan is checked under the default policy (its own may not be
	// shipped) and previewed under the file's.
	check := *l
	check.Policy = policy.DefaultPolicyName
	if _, err := api.CheckLoan(check, reg, tr.Has); err != nil {
		return policy.Policy{}, err
	}
	l.Policy = pol.Name
	return pol, nil
}

// loadPolicyFile reads a policy from a YAML file, named after the file.
func loadPolicyFile(path string) (policy.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("policy file: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	pol, err := policy.Parse(name, data)
	if err != nil {
		return policy.Policy{}, fmt.Errorf("policy file %s: %w", path, err)
	}
	return pol, nil
}

// writeOut writes through write to path, or stdout for "-".
func (c *cli) writeOut(path string, write func(io.Writer) error) error {
	if path == "-" || path == "" {
		return write(c.stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// cmdSimulate: simulate -book loans.jsonl|.csv -policy A [-policy B ...]
// [-pay-model ...] [-seed N] [-sms-price X] [-workers N] [-format text|json],
// or simulate -generate N [-installments 12] [-first-due DATE] [-seed N].
func (c *cli) cmdSimulate(ctx context.Context, args []string) error {
	fs := c.flags("simulate")
	book := fs.String("book", "", "the loans: JSON Lines or CSV as import reads them (- for stdin)")
	var pols multiFlag
	fs.Var(&pols, "policy", "a policy to compare: a shipped name or a YAML file; repeatable (default: default)")
	model := fs.String("pay-model", preview.DefaultPayModel, "how borrowers repay: on-time, late-N, early-N, never with weights summing to 1")
	seed := fs.Uint64("seed", 1, "seed of the repayment draw (and of -generate)")
	price := fs.String("sms-price", "0.05", "price of one SMS segment")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "previews run at once")
	format := fs.String("format", "text", "text or json")
	generate := fs.Int("generate", 0, "write a book of N generated loans as JSON Lines to stdout instead")
	installments := fs.Int("installments", 12, "with -generate: installments per loan")
	firstDue := fs.String("first-due", "2027-01-01", "with -generate: the earliest first due date")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *generate > 0 {
		first, err := policy.ParseDate(*firstDue)
		if err != nil {
			return usagef("-first-due: %v", err)
		}
		if *installments < 1 || *installments > policy.MaxInstallments {
			return usagef("-installments must be 1 to %d", policy.MaxInstallments)
		}
		return preview.WriteBook(c.stdout, preview.GenerateBook(*generate, *installments, first, *seed))
	}
	switch {
	case *book == "":
		return usagef("-book (or -generate) is required")
	case *format != "text" && *format != "json":
		return usagef("-format must be text or json, got %q", *format)
	case *workers < 1:
		return usagef("-workers must be at least 1")
	}
	pm, err := preview.ParsePayModel(*model)
	if err != nil {
		return usagef("%v", err)
	}
	smsPrice, err := decimal.NewFromString(*price)
	if err != nil || smsPrice.IsNegative() {
		return usagef("-sms-price %q: want a decimal of 0 or more", *price)
	}
	reg, tr, err := previewDeps()
	if err != nil {
		return err
	}
	if len(pols) == 0 {
		pols = multiFlag{policy.DefaultPolicyName}
	}
	var policiesToCompare []policy.Policy
	for _, p := range pols {
		pol, ok := reg.Get(p)
		if !ok {
			if ext := strings.ToLower(filepath.Ext(p)); ext != ".yaml" && ext != ".yml" {
				return usagef("-policy %q: not a shipped policy (%s) nor a .yaml file", p, strings.Join(reg.Names(), ", "))
			}
			if pol, err = loadPolicyFile(p); err != nil {
				return err
			}
		}
		policiesToCompare = append(policiesToCompare, pol)
	}
	loans, rejected, err := c.readBook(*book, reg, tr)
	if err != nil {
		return err
	}
	if len(loans) == 0 {
		return fmt.Errorf("%s: no valid loan to simulate", *book)
	}
	opts := preview.SimOptions{Policies: policiesToCompare, PayModel: pm, Seed: *seed, SMSPrice: smsPrice,
		Workers: *workers, Templates: tr, Brand: config.Brand()}
	if c.stderrIsTerminal {
		last := time.Now()
		opts.Progress = func(done, total int) {
			if time.Since(last) > 500*time.Millisecond || done == total {
				last = time.Now()
				fmt.Fprintf(c.stderr, "\rsimulated %d of %d previews", done, total)
				if done == total {
					fmt.Fprintln(c.stderr)
				}
			}
		}
	}
	// Previews allocate fast and keep little: collect less often.
	defer debug.SetGCPercent(debug.SetGCPercent(preview.SimulateGCPercent))
	start := time.Now()
	rep, err := preview.Simulate(ctx, loans, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "simulated %d loans × %d policies on %d workers in %s\n", len(loans), len(policiesToCompare),
		*workers, time.Since(start).Round(100*time.Millisecond))
	if *format == "json" {
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		if _, err := c.stdout.Write(append(b, '\n')); err != nil {
			return err
		}
	} else if err := rep.WriteText(c.stdout); err != nil {
		return err
	}
	if rejected > 0 {
		fmt.Fprintf(c.stderr, "%d loan(s) of %s were invalid and not simulated (listed above)\n", rejected, *book)
		return errReported
	}
	return nil
}

// readBook reads and validates the loans of a book file, as import does;
// invalid ones are listed on stderr and left out.
func (c *cli) readBook(name string, reg *policy.Registry, tr *templates.Renderer) ([]policy.Loan, int, error) {
	read, err := importFormat("", name)
	if err != nil {
		return nil, 0, err
	}
	in, closeIn, err := c.openInput(name)
	if err != nil {
		return nil, 0, err
	}
	defer closeIn()
	var loans []policy.Loan
	rejected := 0
	err = read(in, func(it loanItem) bool {
		problems := it.problems
		if len(problems) == 0 {
			l := it.loan
			l.Policy = "" // the -policy flags decide
			if _, err := api.CheckLoan(l, reg, tr.Has); err != nil {
				problems = it.reasons(err)
			}
		}
		if len(problems) > 0 {
			rejected++
			fmt.Fprintf(c.stderr, "line %d: loan %s: %s\n", it.line, it.loan.LoanID, strings.Join(problems, "; "))
			return true
		}
		loans = append(loans, it.loan)
		return true
	})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	return loans, rejected, nil
}

var _ flag.Value = (*multiFlag)(nil)

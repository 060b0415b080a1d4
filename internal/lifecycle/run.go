package lifecycle

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"dunning/policies"
	"dunning/policy"
	"dunning/templates"
)

// Config says what `cmd/lifecycle` measures.
type Config struct {
	// Policy is the shipped policy (policies/*.yaml) to run under.
	Policy string
	// Long is the installments of the long loan (360: 30 years).
	Long int
	// PayAt is the local time of day installments are paid on their due date.
	PayAt string
	// Tasks prints, run by run, what each workflow task was for.
	Tasks bool
}

// ParseFlags reads the command's flags.
func ParseFlags(args []string, out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("lifecycle", flag.ContinueOnError)
	fs.SetOutput(out)
	var c Config
	fs.StringVar(&c.Policy, "policy", "default", "shipped policy (policies/*.yaml) to run the loans under")
	fs.IntVar(&c.Long, "long", 360, "installments of the long loan paid on time")
	fs.StringVar(&c.PayAt, "pay-at", "12:00", "local time (HH:MM) installments are paid on their due date")
	fs.BoolVar(&c.Tasks, "tasks", false, "also print, run by run, what each workflow task was for")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.Long < 1 || c.Long > policy.MaxInstallments {
		return c, fmt.Errorf("-long %d: must be 1..%d", c.Long, policy.MaxInstallments)
	}
	if _, err := time.Parse("15:04", c.PayAt); err != nil {
		return c, fmt.Errorf("-pay-at %q: want HH:MM", c.PayAt)
	}
	return c, nil
}

// Run measures the three lifecycles and writes the table and, last, the
// summary line.
func Run(ctx context.Context, c Config, w io.Writer) error {
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		return fmt.Errorf("load policies: %w", err)
	}
	p, ok := reg.Get(c.Policy)
	if !ok {
		return fmt.Errorf("no policy %q (have %s)", c.Policy, strings.Join(reg.Names(), ", "))
	}
	tr, err := templates.New()
	if err != nil {
		return fmt.Errorf("load templates: %w", err)
	}
	at, _ := time.Parse("15:04", c.PayAt)
	lcs, err := Standard(p, c.Long, at.Hour(), at.Minute())
	if err != nil {
		return err
	}
	var results []*Result
	for _, lc := range lcs {
		start := time.Now()
		r, err := Measure(ctx, lc, p, tr)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "measured %s in %.1fs\n", lc.Name, time.Since(start).Seconds())
		results = append(results, r)
	}
	fmt.Fprintf(w, "\npolicy %s; paid on time: each installment in full on its due date at %s local\n\n", p.Name, c.PayAt)
	if err := WriteTable(w, results); err != nil {
		return err
	}
	if c.Tasks {
		for _, r := range results {
			fmt.Fprintf(w, "\n%s: workflow tasks by run\n", r.Name)
			// Runs alike one after the other share a line.
			for i := 0; i < len(r.Tasks); {
				line := strings.Join(r.Tasks[i], ", ")
				j := i + 1
				for j < len(r.Tasks) && strings.Join(r.Tasks[j], ", ") == line && r.Runs[j].Total() == r.Runs[i].Total() {
					j++
				}
				runs := fmt.Sprintf("run %d (%d events)", i+1, r.Runs[i].Total())
				if j > i+1 {
					runs = fmt.Sprintf("runs %d–%d (%d events each)", i+1, j, r.Runs[i].Total())
				}
				fmt.Fprintf(w, "  %s: %s\n", runs, line)
				i = j
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, Summarize(results[0], results[1], results[2:]...))
	return nil
}

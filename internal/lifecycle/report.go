package lifecycle

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Summary is the figures issue 9 asks for.
type Summary struct {
	// EventsPerInstallment: the 12-installment loan paid on time, all runs'
	// events over its installments.
	EventsPerInstallment float64
	// ChargeOffEvents: the 12-installment loan never paid, every event up to
	// its charge-off (what its history holds while it waits for recoveries).
	ChargeOffEvents int
	// MaxRunEvents: the largest run of any lifecycle measured, every event
	// of it (the 360-installment loan's largest run is among them).
	MaxRunEvents int
}

// Summarize takes the figures from the results of Standard's lifecycles,
// in its order.
func Summarize(onTime, chargeOff *Result, others ...*Result) Summary {
	s := Summary{EventsPerInstallment: onTime.PerInstallment(), ChargeOffEvents: chargeOff.ChargeOff.Total()}
	for _, r := range append([]*Result{onTime, chargeOff}, others...) {
		if _, c := r.Largest(); c.Total() > s.MaxRunEvents {
			s.MaxRunEvents = c.Total()
		}
	}
	return s
}

// String is the last line the command prints.
func (s Summary) String() string {
	return fmt.Sprintf("events_per_installment=%.1f charge_off_events=%d max_run_events=%d",
		s.EventsPerInstallment, s.ChargeOffEvents, s.MaxRunEvents)
}

// WriteTable writes the results: one line per lifecycle, then the events by
// type of each (all runs, its largest run and, for a charged-off loan, its
// history at charge-off). Events are counted with every batch of activity
// results in one workflow task; the "split ≤" columns are the most a
// server's histories hold when each result of a batch gets a task of its
// own (3 events more per result merged).
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "lifecycle\tinstallments\truns\tevents\tsplit ≤\tper installment\tsplit ≤\tlargest run\tits events\tsplit ≤\tto charge-off\tend\t")
	for _, r := range results {
		n, big := r.Largest()
		co := "-"
		if r.ChargeOff != nil {
			co = strconv.Itoa(r.ChargeOff.Total())
		}
		total := r.Total().Total()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%d\t%d\t%d\t%s\t%s\t\n", r.Name, r.Installments, len(r.Runs),
			total, total+r.Split(), r.PerInstallment(), float64(total+r.Split())/float64(r.Installments),
			n, big.Total(), big.Total()+r.SplitRun(n), co, r.End.State)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "events by type"
	var cols []Counts
	for _, r := range results {
		n, big := r.Largest()
		head += fmt.Sprintf("\t%s\trun %d", r.Name, n)
		cols = append(cols, r.Total(), big)
		if r.ChargeOff != nil {
			head += "\tto charge-off"
			cols = append(cols, r.ChargeOff)
		}
	}
	fmt.Fprintln(tw, head+"\t")
	for _, t := range Types(cols...) {
		line := Name(t)
		for _, c := range cols {
			line += fmt.Sprintf("\t%d", c[t])
		}
		fmt.Fprintln(tw, line+"\t")
	}
	line := "total"
	for _, c := range cols {
		line += fmt.Sprintf("\t%d", c.Total())
	}
	fmt.Fprintln(tw, line+"\t")
	return tw.Flush()
}

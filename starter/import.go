package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"dunning/api"
	"dunning/policy"
)

// importer validates and starts the loans of an import file with a bounded
// pool of workers, reporting progress as it goes.
type importer struct {
	// check validates a loan and resolves its policy (api.CheckLoan).
	check func(policy.Loan) (policy.Policy, error)
	// start starts a validated loan (api.StartLoan with a client).
	start func(context.Context, policy.Loan, policy.Policy) (api.StartResult, error)
	// concurrency is the number of loans started at once.
	concurrency int
	// progress receives the progress line ("\rimported 120/500"); nil for none.
	progress io.Writer
	// every is how often the progress line is redrawn.
	every time.Duration
}

// rejection is a loan that was not started, with where it is in the file.
type rejection struct {
	Line    int      `json:"line"`
	LoanID  string   `json:"loan_id,omitempty"`
	Reasons []string `json:"reasons"`
}

// importSummary is the outcome of an import.
type importSummary struct {
	Started        int `json:"started"`
	AlreadyRunning int `json:"already_running"`
	// Rejected loans are invalid or conflict with a finished loan: fixing
	// the file is what helps.
	Rejected []rejection `json:"rejected"`
	// Failed loans met an error of the system (Temporal unavailable); running
	// the import again is what helps, and is safe: started loans are
	// answered "already running".
	Failed []rejection `json:"failed"`
	// NotAttempted loans were never tried because the import stopped
	// (interrupted, or Temporal unavailable).
	NotAttempted int `json:"not_attempted"`
	// ReadError is why the file could not be read to its end, if it could not.
	ReadError string `json:"read_error,omitempty"`
}

// total is the number of loans read.
func (s importSummary) total() int {
	return s.Started + s.AlreadyRunning + len(s.Rejected) + len(s.Failed) + s.NotAttempted
}

// ok reports whether every loan read was started or already running.
func (s importSummary) ok() bool {
	return len(s.Rejected) == 0 && len(s.Failed) == 0 && s.NotAttempted == 0 && s.ReadError == ""
}

// run reads loans with read (readJSONL or readCSV) from r and starts them.
// Reading runs ahead of the workers, so the total is known early. When
// Temporal is unavailable the import stops rather than wait out every loan's
// timeout; ctx's cancellation stops it too.
func (im *importer) run(ctx context.Context, r io.Reader, read func(io.Reader, func(loanItem) bool) error) importSummary {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu      sync.Mutex
		sum     importSummary
		done    int
		total   = -1 // unknown until the file is read
		nRead   = 0
		seen    = map[string]int{}
		items   = make(chan loanItem, im.concurrency)
		workers sync.WaitGroup
	)
	record := func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		f()
		done++
	}

	for range max(im.concurrency, 1) {
		workers.Go(func() {
			for it := range items {
				if ctx.Err() != nil {
					record(func() { sum.NotAttempted++ })
					continue
				}
				im.one(ctx, it, cancel, record, &sum)
			}
		})
	}

	stopProgress := im.showProgress(&mu, &done, &total)

	readErr := read(r, func(it loanItem) bool {
		nRead++
		if it.problems == nil && it.loan.LoanID != "" {
			if first, dup := seen[it.loan.LoanID]; dup {
				it.problems = []string{fmt.Sprintf("loan_id %s: already on line %d of this file", it.loan.LoanID, first)}
			} else {
				seen[it.loan.LoanID] = it.line
			}
		}
		select {
		case items <- it:
			return true
		case <-ctx.Done():
			record(func() { sum.NotAttempted++ })
			return true // keep counting what is left
		}
	})
	mu.Lock()
	total = nRead
	mu.Unlock()
	close(items)
	workers.Wait()
	stopProgress()

	if readErr != nil {
		sum.ReadError = readErr.Error()
	}
	slices.SortFunc(sum.Rejected, func(a, b rejection) int { return a.Line - b.Line })
	slices.SortFunc(sum.Failed, func(a, b rejection) int { return a.Line - b.Line })
	return sum
}

// one validates and starts one loan and records the outcome.
func (im *importer) one(ctx context.Context, it loanItem, stop context.CancelFunc, record func(func()), sum *importSummary) {
	reject := func(reasons []string) {
		record(func() {
			sum.Rejected = append(sum.Rejected, rejection{Line: it.line, LoanID: it.loan.LoanID, Reasons: reasons})
		})
	}
	if it.problems != nil {
		reject(it.problems)
		return
	}
	p, err := im.check(it.loan)
	if err != nil {
		reject(it.reasons(err))
		return
	}
	res, err := im.start(ctx, it.loan, p)
	switch {
	case errors.Is(err, api.ErrNotOpen):
		reject([]string{"loan_id: a loan with this id already finished (paid off or closed); its id cannot be started again"})
	case err != nil:
		if errors.Is(err, api.ErrUnavailable) {
			stop() // every other loan would wait out its timeout too
		}
		record(func() {
			sum.Failed = append(sum.Failed, rejection{Line: it.line, LoanID: it.loan.LoanID, Reasons: []string{err.Error()}})
		})
	case res.Started:
		record(func() { sum.Started++ })
	default:
		record(func() { sum.AlreadyRunning++ })
	}
}

// showProgress redraws "imported N/T" on im.progress every im.every until the
// returned function is called, which draws it a last time and ends the line.
func (im *importer) showProgress(mu *sync.Mutex, done, total *int) (stop func()) {
	if im.progress == nil {
		return func() {}
	}
	draw := func() {
		mu.Lock()
		d, t := *done, *total
		mu.Unlock()
		of := "?"
		if t >= 0 {
			of = fmt.Sprint(max(t, d))
		}
		fmt.Fprintf(im.progress, "\rimported %d/%s", d, of)
	}
	ticker := time.NewTicker(max(im.every, 10*time.Millisecond))
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ticker.C:
				draw()
			case <-quit:
				return
			}
		}
	})
	return func() {
		ticker.Stop()
		close(quit)
		wg.Wait()
		draw()
		fmt.Fprintln(im.progress)
	}
}

// writeSummary writes the outcome for a person: counts, then every
// rejection and failure with its line number and reasons.
func writeSummary(w io.Writer, s importSummary) {
	fmt.Fprintf(w, "%d loans: %d started, %d already running, %d rejected", s.total(), s.Started, s.AlreadyRunning, len(s.Rejected))
	if len(s.Failed) > 0 {
		fmt.Fprintf(w, ", %d failed", len(s.Failed))
	}
	if s.NotAttempted > 0 {
		fmt.Fprintf(w, ", %d not attempted", s.NotAttempted)
	}
	fmt.Fprintln(w)
	for _, group := range []struct {
		name string
		list []rejection
	}{{"rejected", s.Rejected}, {"failed", s.Failed}} {
		for _, r := range group.list {
			id := ""
			if r.LoanID != "" {
				id = " (loan " + r.LoanID + ")"
			}
			fmt.Fprintf(w, "%s: line %d%s:\n", group.name, r.Line, id)
			for _, reason := range r.Reasons {
				fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(reason, "\n", " "))
			}
		}
	}
	if s.ReadError != "" {
		fmt.Fprintf(w, "stopped reading the file: %s\n", s.ReadError)
	}
}

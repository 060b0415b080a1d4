// Command lifecycle is `make lifecycle`: it runs a loan's whole life with
// the real LoanWorkflow in the SDK's time-skipping test environment and
// counts the history events each run of the workflow would have on a
// Temporal server (package internal/lifecycle): 12 installments paid on
// time, 12 never paid until charge-off, 360 paid on time. It prints a table
// and, last, `events_per_installment=<n> charge_off_events=<n>
// max_run_events=<n>` (issue 9). No server is needed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"dunning/internal/lifecycle"
)

func main() {
	cfg, err := lifecycle.ParseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lifecycle:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := lifecycle.Run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lifecycle:", err)
		os.Exit(1)
	}
}

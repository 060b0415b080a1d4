// Command chaos is `make chaos` (issue 9): a burst of notices through a
// worker process that is killed twice, a Temporal dev server and a private
// PostgreSQL that restart, and a provider that refuses and hangs; then it
// checks that nothing was lost, doubled or mismatched and prints
// "duplicates=0 lost=0 mismatched=0", exiting 1 otherwise. Run it through
// scripts/chaos.sh, which builds the worker and the Temporal CLI first.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"dunning/internal/chaos"
)

func main() {
	cfg := chaos.Config{Log: os.Stderr}
	flag.IntVar(&cfg.Loans, "loans", 300, "loans in the burst (each sends or skips 1 to 3 notices)")
	flag.StringVar(&cfg.Root, "root", ".", "the repository (scripts/devserver.sh, .bin/worker)")
	flag.StringVar(&cfg.Dir, "dir", ".data/chaos", "state and logs of the run (emptied first)")
	flag.IntVar(&cfg.TemporalPort, "temporal-port", 7280, "the chaos dev server's port")
	flag.IntVar(&cfg.PostgresPort, "pg-port", 5480, "the private PostgreSQL's port")
	flag.Float64Var(&cfg.RefuseRate, "refuse", 0.10, "share of provider calls answered 500")
	flag.Float64Var(&cfg.HangRate, "hang", 0.01, "share of provider calls taken and never answered")
	flag.Uint64Var(&cfg.Seed, "seed", 9, "seed of the provider's faults")
	flag.DurationVar(&cfg.Settle, "settle", 4*time.Minute, "how long to wait for every notice to be final")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	n := res.Notices
	fmt.Printf("faults:\n")
	for _, f := range res.Faults {
		fmt.Printf("  %s\n", f)
	}
	calls := []string{}
	for f, c := range res.Calls {
		calls = append(calls, fmt.Sprintf("%s=%d", map[chaos.Fault]string{chaos.Accept: "accepted", chaos.Refuse: "500", chaos.Hang: "hung"}[f], c))
	}
	sort.Strings(calls)
	fmt.Printf("provider calls: %v\n", calls)
	fmt.Printf("loans=%d repayments=%d planned=%d rows=%d sent=%d failed=%d skipped=%d unknown_accepted=%d unknown_not_accepted=%d accepted=%d\n",
		res.Loans, res.Repayments, n.Planned, n.Rows, n.Sent, n.Failed, n.Skipped, n.UnknownAccepted, n.UnknownNotAccepted, n.Accepted)
	fmt.Printf("burst settled in %.1fs, whole run %.1fs\n", res.Burst.Seconds(), res.Total.Seconds())
	for _, p := range n.Problems {
		fmt.Printf("notice problem: %s\n", p)
	}
	for _, p := range res.LoanProblems {
		fmt.Printf("loan problem: %s\n", p)
	}
	fmt.Println(res.Line())
	if !res.OK() {
		os.Exit(1)
	}
}

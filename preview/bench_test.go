package preview

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// benchLoans is the book size of BenchmarkSimulate: big enough to smooth out
// one loan's cost, small enough for `make bench`. README extrapolates to
// 10,000 loans. DUNNING_BENCH_LOANS=N sets another size (a small book to
// profile, or the whole 10,000).
const benchLoans = 200

// benchBookSize is benchLoans, or DUNNING_BENCH_LOANS when it is a number
// above 0.
func benchBookSize(b *testing.B) int {
	s := os.Getenv("DUNNING_BENCH_LOANS")
	if s == "" {
		return benchLoans
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("DUNNING_BENCH_LOANS=%q: want a number of loans above 0", s)
	}
	return n
}

// BenchmarkSimulate simulates a generated book of 12-installment loans under
// the default policy with the default pay model (on-time 0.7, late-7 0.2,
// never 0.1) on every core, as `starter simulate` does (GC percent
// SimulateGCPercent). It reports the wall time and the CPU time per loan and
// the minutes 10,000 loans would take at that rate ("min/10k").
// Sub-benchmarks: one worker, and every core.
func BenchmarkSimulate(b *testing.B) {
	book := GenerateBook(benchBookSize(b), 12, policy.MustDate("2027-01-01"), 1)
	tr := renderer(b)
	defer debug.SetGCPercent(debug.SetGCPercent(SimulateGCPercent))
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		name := "workers=1"
		if workers > 1 {
			name = "workers=all"
		}
		b.Run(name, func(b *testing.B) {
			opts := SimOptions{Policies: []policy.Policy{policy.Default()}, Seed: 1, Workers: workers, Templates: tr,
				SMSPrice: decimal.RequireFromString("0.05")}
			cpu0, wall0 := cpuTime(), time.Now()
			for b.Loop() {
				r, err := Simulate(context.Background(), book, opts)
				if err != nil || r.Policies[0].Errors != 0 {
					b.Fatal(err, r.Policies[0].FirstErrors)
				}
			}
			loans := float64(b.N * len(book))
			wall := float64(time.Since(wall0)) / loans
			b.ReportMetric(wall/1e6, "ms/loan")
			b.ReportMetric(float64(cpuTime()-cpu0)/loans/1e6, "cpu-ms/loan")
			b.ReportMetric(wall*10000/float64(time.Minute), "min/10k")
		})
	}
}

// BenchmarkPreview previews the one-installment sample loan to its
// charge-off: the cost of one preview of the API.
func BenchmarkPreview(b *testing.B) {
	tr := renderer(b)
	for b.Loop() {
		if _, err := Run(context.Background(), sampleLoan(), Options{Policy: policy.Default(), Templates: tr}); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

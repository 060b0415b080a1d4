package load

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Percentile is the p-th percentile (0..100) of d by the nearest-rank
// method: the smallest value with at least p% of the values at or below it.
// It is 0 for no values.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if p <= 0 {
		return s[0]
	}
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}

// Rate is n per second over d; 0 when d is not positive.
func Rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Ratio is a / b, 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Summary is the last line `make load` prints. A figure not measured is
// negative and prints as "na".
type Summary struct {
	OnboardRatio, BurstRatio, RepayRatio float64
	EventsPerInstallment                 float64
	MaxRunEvents                         int
	RSSMBPer10k                          float64
	Status5xx, Duplicates, Lost          int
}

// Line formats s as the issue asks:
// onboard_ratio=<x> burst_ratio=<x> repay_ratio=<x> events_per_installment=<n>
// max_run_events=<n> rss_mb_per_10k=<n> 5xx=<n> duplicates=<n> lost=<n>.
func (s Summary) Line() string {
	return fmt.Sprintf("onboard_ratio=%s burst_ratio=%s repay_ratio=%s events_per_installment=%s max_run_events=%s rss_mb_per_10k=%s 5xx=%s duplicates=%s lost=%s",
		num(s.OnboardRatio, 2), num(s.BurstRatio, 2), num(s.RepayRatio, 2),
		num(s.EventsPerInstallment, 1), count(s.MaxRunEvents), num(s.RSSMBPer10k, 0),
		count(s.Status5xx), count(s.Duplicates), count(s.Lost))
}

func num(v float64, prec int) string {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "na"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func count(n int) string {
	if n < 0 {
		return "na"
	}
	return strconv.Itoa(n)
}

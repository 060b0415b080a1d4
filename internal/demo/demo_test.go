package demo

import (
	"testing"
	"time"

	"dunning/policy"
)

func TestDaytimeZone(t *testing.T) {
	for h := range 24 {
		now := time.Date(2026, 11, 28, h, 30, 0, 0, time.UTC)
		tz := DaytimeZone(now)
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatalf("%02d:30 UTC → %q: %v", h, tz, err)
		}
		if lh := now.In(loc).Hour(); lh < 11 || lh > 15 {
			t.Errorf("%02d:30 UTC → %s where it is %02d:30, want 11:00–15:59 (after every rung time)", h, tz, lh)
		}
	}
}

func TestLoansCoverTheLadder(t *testing.T) {
	now := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
	loans, err := Loans("Asia/Shanghai", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(loans) < 20 {
		t.Fatalf("%d demo loans, want about 20", len(loans))
	}
	states := map[string]bool{}
	for _, l := range loans {
		s, err := policy.SnapshotAt(l, policy.Default(), policy.History{}, now)
		if err != nil {
			t.Fatalf("%s: %v", l.LoanID, err)
		}
		states[s.State+"/"+s.Bucket] = true
	}
	for _, want := range []string{"current/current", "overdue/1-7", "overdue/8-15", "overdue/16-30", "overdue/31-60", "overdue/61-90", "charged_off/90+"} {
		if !states[want] {
			t.Errorf("no demo loan is %s (have %v)", want, states)
		}
	}
	if loans[len(loans)-1].LoanID != RepaidDuringDemo {
		t.Errorf("last loan %s, want %s (make run repays it)", loans[len(loans)-1].LoanID, RepaidDuringDemo)
	}
}

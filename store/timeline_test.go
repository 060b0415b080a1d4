package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"dunning/store"
)

// MergeTimeline interleaves lists that are each in time order: time first,
// each list's own order kept among equal times, and an earlier list first
// at the same instant (history, then ledger, then notices).
func TestMergeTimeline(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// e is an entry of source src at second s, named by kind.
	e := func(src string, s int, kind string) store.TimelineEntry {
		return store.TimelineEntry{At: at(s), Source: src, Kind: kind}
	}
	h := func(s int, kind string) store.TimelineEntry { return e(store.SourceHistory, s, kind) }
	l := func(s int, kind string) store.TimelineEntry { return e(store.SourceLedger, s, kind) }
	n := func(s int, kind string) store.TimelineEntry { return e(store.SourceNotice, s, kind) }

	for _, tt := range []struct {
		name                     string
		history, ledger, notices []store.TimelineEntry
		want                     string
	}{
		{name: "all empty", want: ""},
		{name: "one source", ledger: []store.TimelineEntry{l(1, "loan_started"), l(2, "paused")},
			want: "ledger/loan_started ledger/paused"},
		{name: "interleaved by time",
			history: []store.TimelineEntry{h(0, "workflow_started"), h(5, "timer_fired"), h(9, "workflow_completed")},
			ledger:  []store.TimelineEntry{l(1, "loan_started"), l(6, "stage_changed")},
			notices: []store.TimelineEntry{n(7, "notice")},
			want:    "history/workflow_started ledger/loan_started history/timer_fired ledger/stage_changed notice/notice history/workflow_completed"},
		{name: "same instant: history, ledger, notice",
			history: []store.TimelineEntry{h(3, "timer_fired")},
			ledger:  []store.TimelineEntry{l(3, "stage_changed")},
			notices: []store.TimelineEntry{n(3, "notice")},
			want:    "history/timer_fired ledger/stage_changed notice/notice"},
		{name: "same instant keeps each list's order",
			// A run's continue-as-new and the next run's start share a
			// millisecond; event order decides, not the kind's name.
			history: []store.TimelineEntry{h(4, "update_completed"), h(4, "continued_as_new"), h(4, "workflow_started")},
			ledger:  []store.TimelineEntry{l(4, "repayment_applied"), l(4, "stage_changed")},
			want:    "history/update_completed history/continued_as_new history/workflow_started ledger/repayment_applied ledger/stage_changed"},
		{name: "a later list does not jump ahead at a tie",
			ledger:  []store.TimelineEntry{l(1, "a"), l(2, "b")},
			notices: []store.TimelineEntry{n(1, "notice"), n(2, "notice")},
			want:    "ledger/a notice/notice ledger/b notice/notice"},
		{name: "a back-dated ledger row comes before history",
			history: []store.TimelineEntry{h(10, "update_accepted")},
			ledger:  []store.TimelineEntry{l(2, "repayment_applied")},
			want:    "ledger/repayment_applied history/update_accepted"},
		{name: "one list exhausted first",
			history: []store.TimelineEntry{h(1, "workflow_started")},
			notices: []store.TimelineEntry{n(2, "notice"), n(3, "notice"), n(4, "notice")},
			want:    "history/workflow_started notice/notice notice/notice notice/notice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := store.MergeTimeline(tt.history, tt.ledger, tt.notices)
			var names []string
			for _, g := range got {
				names = append(names, g.Source+"/"+g.Kind)
			}
			if s := strings.Join(names, " "); s != tt.want {
				t.Errorf("merged\n got %s\nwant %s", s, tt.want)
			}
			if n := len(tt.history) + len(tt.ledger) + len(tt.notices); len(got) != n {
				t.Errorf("%d entries, want %d", len(got), n)
			}
			if !slices.IsSortedFunc(got, func(a, b store.TimelineEntry) int { return a.At.Compare(b.At) }) {
				t.Errorf("not in time order: %v", names)
			}
		})
	}
}

// Merging the ledger and notices first and history afterwards (what the
// API does with Store.Timeline) gives the same list as merging all three.
func TestMergeTimelineAssociative(t *testing.T) {
	t0 := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	var lists [3][]store.TimelineEntry
	for i, src := range []string{store.SourceHistory, store.SourceLedger, store.SourceNotice} {
		for k := range 6 {
			// Times repeat across sources and within one.
			lists[i] = append(lists[i], store.TimelineEntry{At: t0.Add(time.Duration((k+i)/2) * time.Second), Source: src, Kind: fmt.Sprint(k)})
		}
	}
	all := store.MergeTimeline(lists[0], lists[1], lists[2])
	stepwise := store.MergeTimeline(lists[0], store.MergeTimeline(lists[1], lists[2]))
	key := func(es []store.TimelineEntry) string {
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "%s/%s ", e.Source, e.Kind)
		}
		return b.String()
	}
	if key(all) != key(stepwise) {
		t.Errorf("three at once:\n%s\nledger+notices, then history:\n%s", key(all), key(stepwise))
	}
}

package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"dunning/store"
)

// TestNoticesReport: the cross-loan notices report filters by outcome,
// channel and window, newest outcome first, and bounds its page.
func TestNoticesReport(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	failed := func(key, channel string) {
		t.Helper()
		n := notice(key, channel)
		n.Status, n.Reason = store.NoticeFailed, "permanent: rejected"
		if _, _, err := s.FinalizeNotice(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	failed("L-1/0/1/7/sms", "sms")
	failed("L-2/0/1/7/email", "email")
	if _, err := s.RecordSkipped(ctx, notice("L-3/0/1/7/sms", "sms")); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Hour)
	after := time.Now().Add(time.Hour)
	keys := func(ns []store.Notice) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.IdempotencyKey)
		}
		return out
	}
	tests := []struct {
		name string
		f    store.NoticeFilter
		want []string
	}{
		{"failed today", store.NoticeFilter{Status: store.NoticeFailed, Since: before}, []string{"L-2/0/1/7/email", "L-1/0/1/7/sms"}},
		{"failed SMS", store.NoticeFilter{Status: store.NoticeFailed, Channel: "sms"}, []string{"L-1/0/1/7/sms"}},
		{"skipped", store.NoticeFilter{Status: store.NoticeSkipped}, []string{"L-3/0/1/7/sms"}},
		{"everything, newest first", store.NoticeFilter{}, []string{"L-3/0/1/7/sms", "L-2/0/1/7/email", "L-1/0/1/7/sms"}},
		{"a page of one", store.NoticeFilter{Limit: 1}, []string{"L-3/0/1/7/sms"}},
		{"since later", store.NoticeFilter{Since: after}, nil},
		{"until earlier", store.NoticeFilter{Until: before}, nil},
		{"an unknown status matches nothing", store.NoticeFilter{Status: "lost"}, nil},
	}
	for _, tt := range tests {
		got, err := s.Notices(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(keys(got), tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, keys(got), tt.want)
		}
	}
}

// TestOpenOptOutsReport: the opt-outs still in force, with the loans that
// reach each address; a revoked one is gone.
func TestOpenOptOutsReport(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	const a, b = "+8613800138000", "+8613900139000"
	for _, step := range []func() (bool, error){
		func() (bool, error) { return s.OptOut(ctx, "sms", a, store.OptOutKeyword, "STOP") },
		func() (bool, error) { return s.OptOut(ctx, "sms", b, store.OptOutCarrier, "") },
		func() (bool, error) { return s.OptOut(ctx, "email", "x@example.cn", store.OptOutCarrier, "") },
		func() (bool, error) { return s.OptIn(ctx, "email", "x@example.cn", store.OptOutCarrier) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"L-2", "L-1"} {
		if err := s.AddLoanContacts(ctx, l, []store.Contact{{Channel: "sms", Address: a}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.OpenOptOuts(ctx, store.OptOutFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Address != b || got[1].Address != a {
		t.Fatalf("open opt-outs %+v, want %s then %s", got, b, a)
	}
	if got[1].Source != store.OptOutKeyword || got[1].Keyword != "STOP" || !slices.Equal(got[1].Loans, []string{"L-1", "L-2"}) {
		t.Errorf("keyword opt-out %+v", got[1])
	}
	if got[0].Source != store.OptOutCarrier || len(got[0].Loans) != 0 || got[0].Loans == nil {
		t.Errorf("carrier opt-out %+v (loans must be [], not null)", got[0])
	}
	if got, err := s.OpenOptOuts(ctx, store.OptOutFilter{Channel: "email"}); err != nil || len(got) != 0 {
		t.Errorf("revoked email opt-out listed: %+v, %v", got, err)
	}
	if got, err := s.OpenOptOuts(ctx, store.OptOutFilter{Since: time.Now().Add(time.Hour)}); err != nil || len(got) != 0 {
		t.Errorf("since the future: %+v, %v", got, err)
	}
}

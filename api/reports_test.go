package api

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"dunning/store"
)

// fakeReports records the filters it was asked and answers rows.
type fakeReports struct {
	notices []store.Notice
	optOuts []store.OptOutRow
	err     error
	nf      []store.NoticeFilter
	of      []store.OptOutFilter
}

func (f *fakeReports) Notices(_ context.Context, nf store.NoticeFilter) ([]store.Notice, error) {
	f.nf = append(f.nf, nf)
	return slices.Clone(f.notices), f.err
}

func (f *fakeReports) OpenOptOuts(_ context.Context, of store.OptOutFilter) ([]store.OptOutRow, error) {
	f.of = append(f.of, of)
	return slices.Clone(f.optOuts), f.err
}

func TestNoticesReport(t *testing.T) {
	since := time.Date(2026, 11, 30, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name       string
		query      string
		want       int
		wantFields []string
		wantFilter store.NoticeFilter
	}{
		{name: "failed today", query: "?status=failed&since=2026-11-30T00:00:00%2B08:00", want: 200,
			wantFilter: store.NoticeFilter{Status: "failed", Since: since}},
		{name: "everything", want: 200},
		{name: "SMS, a page of 10, a window", query: "?channel=sms&limit=10&since=2026-11-30T00:00:00%2B08:00&until=2026-12-01T00:00:00%2B08:00", want: 200,
			wantFilter: store.NoticeFilter{Channel: "sms", Limit: 10, Since: since, Until: since.AddDate(0, 0, 1)}},
		{name: "unknown status", query: "?status=lost", want: 400, wantFields: []string{"status"}},
		{name: "unknown channel", query: "?channel=fax", want: 400, wantFields: []string{"channel"}},
		{name: "not a time", query: "?since=today", want: 400, wantFields: []string{"since"}},
		{name: "a date is not a time", query: "?until=2026-11-30", want: 400, wantFields: []string{"until"}},
		{name: "year 1", query: "?since=0001-01-01T00:00:00Z", want: 400, wantFields: []string{"since"}},
		{name: "limit 0", query: "?limit=0", want: 400, wantFields: []string{"limit"}},
		{name: "limit 1001", query: "?limit=1001", want: 400, wantFields: []string{"limit"}},
		{name: "limit not a number", query: "?limit=1e3", want: 400, wantFields: []string{"limit"}},
		{name: "unknown parameter", query: "?loan_id=L-1", want: 400, wantFields: []string{"loan_id"}},
		{name: "status twice", query: "?status=failed&status=sent", want: 400, wantFields: []string{"status"}},
		{name: "every problem at once", query: "?status=x&channel=y&zzz=1", want: 400, wantFields: []string{"status", "channel", "zzz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := &fakeReports{notices: []store.Notice{{IdempotencyKey: "L-1/0/1/7/sms", LoanID: "L-1", Channel: "sms", Recipient: "+8613800138000", Status: "failed"}}}
			ta := newTestAPI(t, func(d *Deps) { d.Reports = fr })
			rec := ta.do(t, "GET", "/v1/notices"+tt.query, "")
			wantCode(t, rec, tt.want)
			if tt.want != 200 {
				for _, f := range tt.wantFields {
					if !slices.Contains(fieldsOf(t, rec), f) {
						t.Errorf("fields %q do not name %q", fieldsOf(t, rec), f)
					}
				}
				if len(fr.nf) != 0 {
					t.Error("a refused report reached the store")
				}
				return
			}
			if len(fr.nf) != 1 || !fr.nf[0].Since.Equal(tt.wantFilter.Since) || !fr.nf[0].Until.Equal(tt.wantFilter.Until) ||
				fr.nf[0].Status != tt.wantFilter.Status || fr.nf[0].Channel != tt.wantFilter.Channel || fr.nf[0].Limit != tt.wantFilter.Limit {
				t.Errorf("filter %+v, want %+v", fr.nf, tt.wantFilter)
			}
			var ns []store.Notice
			if err := json.Unmarshal(rec.Body.Bytes(), &ns); err != nil || len(ns) != 1 {
				t.Fatalf("answer %s: %v", rec.Body, err)
			}
			if ns[0].Recipient != "+86138****8000" || strings.Contains(rec.Body.String(), "13800138000") {
				t.Errorf("the report shows an address unmasked: %s", rec.Body)
			}
		})
	}
}

func TestOptOutsReport(t *testing.T) {
	fr := &fakeReports{optOuts: []store.OptOutRow{{Channel: "email", Address: "zhang.wei@example.cn", Source: "carrier", Loans: []string{"L-1"}}}}
	ta := newTestAPI(t, func(d *Deps) { d.Reports = fr })
	rec := ta.do(t, "GET", "/v1/opt-outs?channel=email&since=2026-11-01T00:00:00Z&limit=5", "")
	wantCode(t, rec, 200)
	if len(fr.of) != 1 || fr.of[0].Channel != "email" || fr.of[0].Limit != 5 || fr.of[0].Since.IsZero() {
		t.Errorf("filter %+v", fr.of)
	}
	if !strings.Contains(rec.Body.String(), `"address":"z***@example.cn"`) || !strings.Contains(rec.Body.String(), `"loans":["L-1"]`) {
		t.Errorf("answer %s", rec.Body)
	}
	for _, q := range []string{"?status=failed", "?channel=fax", "?since=x", "?limit=-1"} {
		rec := ta.do(t, "GET", "/v1/opt-outs"+q, "")
		wantCode(t, rec, 400)
	}
	if len(fr.of) != 1 {
		t.Error("a refused report reached the store")
	}
	// No store: 503; the store down: 503 with Retry-After.
	ta = newTestAPI(t)
	wantCode(t, ta.do(t, "GET", "/v1/opt-outs", ""), 503)
	ta = newTestAPI(t, func(d *Deps) { d.Reports = &fakeReports{err: errDBDown} })
	rec = ta.do(t, "GET", "/v1/notices", "")
	wantCode(t, rec, 503)
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
)

// ReportStore answers the operators' questions across loans
// (docs/OPERATORS.md). A *store.Store is one.
type ReportStore interface {
	Notices(ctx context.Context, f store.NoticeFilter) ([]store.Notice, error)
	OpenOptOuts(ctx context.Context, f store.OptOutFilter) ([]store.OptOutRow, error)
}

// noticeStatuses are the statuses GET /v1/notices filters on.
var noticeStatuses = []string{store.NoticePending, store.NoticeSent, store.NoticeFailed, store.NoticeSkipped,
	store.NoticeUnknown, store.NoticeDelivered, store.NoticeUndelivered}

// channelNames are the channels a report filters on.
var channelNames = func() []string {
	var out []string
	for _, ch := range policy.AllChannels {
		out = append(out, string(ch))
	}
	return out
}()

// reportQuery reads a report's query parameters: only those in allowed, each
// at most once; a problem is answered 400 naming the parameter.
type reportQuery struct {
	v    url.Values
	errs policy.ValidationError
}

func newReportQuery(r *http.Request, allowed ...string) *reportQuery {
	q := &reportQuery{v: r.URL.Query()}
	keys := make([]string, 0, len(q.v))
	for k := range q.v {
		keys = append(keys, k)
	}
	slices.Sort(keys) // one order for the answer, whatever the map's
	for _, k := range keys {
		switch {
		case !slices.Contains(allowed, k):
			q.errs = append(q.errs, policy.FieldError{Field: k, Problem: "unknown parameter; allowed: " + strings.Join(allowed, ", ")})
		case len(q.v[k]) > 1:
			q.errs = append(q.errs, policy.FieldError{Field: k, Problem: "given more than once"})
		}
	}
	return q
}

// oneOf is parameter k, which must be one of values when set.
func (q *reportQuery) oneOf(k string, values []string) string {
	s := q.v.Get(k)
	if s != "" && !slices.Contains(values, s) {
		q.errs = append(q.errs, policy.FieldError{Field: k, Problem: fmt.Sprintf("%q is not one of %s", truncateHeader(s), strings.Join(values, ", "))})
	}
	return s
}

// time is parameter k as an RFC 3339 time, zero when unset.
func (q *reportQuery) time(k string) time.Time {
	s := q.v.Get(k)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if d := policy.DateOf(t); err != nil || d.Before(policy.MinDate) || d.After(policy.MaxDate) {
		q.errs = append(q.errs, policy.FieldError{Field: k, Problem: fmt.Sprintf("%q is not an RFC 3339 time from %s to %s (e.g. 2026-11-30T00:00:00+08:00)",
			truncateHeader(s), policy.MinDate, policy.MaxDate)})
	}
	return t
}

// limit is parameter "limit", 1 to store.MaxReportLimit, 0 when unset.
func (q *reportQuery) limit() int {
	s := q.v.Get("limit")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > store.MaxReportLimit {
		q.errs = append(q.errs, policy.FieldError{Field: "limit", Problem: fmt.Sprintf("must be a whole number from 1 to %d", store.MaxReportLimit)})
	}
	return n
}

// ok answers 400 with every problem found, and reports whether there was none.
func (q *reportQuery) ok(w http.ResponseWriter, what string) bool {
	if len(q.errs) == 0 {
		return true
	}
	writeInvalid(w, what, q.errs.Err())
	return false
}

// haveReports answers 503 when no database is configured.
func (s *server) haveReports(w http.ResponseWriter) bool {
	if s.Reports == nil {
		writeError(w, http.StatusServiceUnavailable, "no database configured for reports (set DATABASE_URL)")
		return false
	}
	return true
}

// noticesReport: GET /v1/notices?status=&channel=&since=&until=&limit=, the
// notices of every loan that reached status (in the window of their
// outcome), newest first — "whose reminders failed today?". Addresses are
// masked: a report across loans is not the place to read them (open the
// loan's own notices for that).
func (s *server) noticesReport(w http.ResponseWriter, r *http.Request) {
	q := newReportQuery(r, "status", "channel", "since", "until", "limit")
	f := store.NoticeFilter{Status: q.oneOf("status", noticeStatuses), Channel: q.oneOf("channel", channelNames),
		Since: q.time("since"), Until: q.time("until"), Limit: q.limit()}
	if !q.ok(w, "notices report") || !s.haveReports(w) {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ns, err := s.Reports.Notices(ctx, f)
	if err != nil {
		s.failStore(w, "", err)
		return
	}
	for i := range ns {
		ns[i].Recipient = channels.MaskRecipient(ns[i].Channel, ns[i].Recipient)
	}
	if ns == nil {
		ns = []store.Notice{}
	}
	writeJSON(w, http.StatusOK, ns)
}

// optOutsReport: GET /v1/opt-outs?channel=&since=&limit=, the opt-outs by
// reply or carrier in force, with the loans their address reaches — "which
// customers opted out?". Addresses are masked as in noticesReport.
func (s *server) optOutsReport(w http.ResponseWriter, r *http.Request) {
	q := newReportQuery(r, "channel", "since", "limit")
	f := store.OptOutFilter{Channel: q.oneOf("channel", channelNames), Since: q.time("since"), Limit: q.limit()}
	if !q.ok(w, "opt-outs report") || !s.haveReports(w) {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	rows, err := s.Reports.OpenOptOuts(ctx, f)
	if err != nil {
		s.failStore(w, "", err)
		return
	}
	for i := range rows {
		rows[i].Address = channels.MaskRecipient(rows[i].Channel, rows[i].Address)
	}
	if rows == nil {
		rows = []store.OptOutRow{}
	}
	writeJSON(w, http.StatusOK, rows)
}

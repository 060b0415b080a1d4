package chaos

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

func TestCheckNotices(t *testing.T) {
	planned := []string{"L-1/0/1/1/sms", "L-1/0/1/1/push"}
	sent := func(key, id string) Row { return Row{Key: key, Status: "sent", Provider: "twilio", MessageID: id} }
	msg := func(key, id string) Message { return Message{Key: key, Provider: "twilio", MessageID: id} }
	type counts struct{ sent, unknownAcc, unknownNot, accepted, dup, lost, mis int }
	for _, tc := range []struct {
		name  string
		rows  []Row
		taken []Message
		want  counts
	}{
		{"all sent once",
			[]Row{sent(planned[0], "SM1"), sent(planned[1], "m2")},
			[]Message{msg(planned[0], "SM1"), msg(planned[1], "m2")},
			counts{sent: 2, accepted: 2}},
		{"sent twice by the provider is a duplicate",
			[]Row{sent(planned[0], "SM1"), sent(planned[1], "m2")},
			[]Message{msg(planned[0], "SM1"), msg(planned[0], "SM9"), msg(planned[1], "m2")},
			counts{sent: 2, accepted: 2, dup: 1}},
		{"no row is lost",
			[]Row{sent(planned[0], "SM1")},
			[]Message{msg(planned[0], "SM1")},
			counts{sent: 1, accepted: 1, lost: 1}},
		{"a pending row is lost",
			[]Row{sent(planned[0], "SM1"), {Key: planned[1], Status: "pending"}},
			[]Message{msg(planned[0], "SM1")},
			counts{sent: 1, accepted: 1, lost: 1}},
		{"sent but the provider has nothing is lost",
			[]Row{sent(planned[0], "SM1"), sent(planned[1], "m2")},
			[]Message{msg(planned[0], "SM1")},
			counts{sent: 2, accepted: 1, lost: 1}},
		{"unknown rows split by whether the provider took the message",
			[]Row{{Key: planned[0], Status: "unknown"}, {Key: planned[1], Status: "unknown"}},
			[]Message{msg(planned[0], "SM1")},
			counts{unknownAcc: 1, unknownNot: 1, accepted: 1}},
		{"a delivered row counts as sent",
			[]Row{{Key: planned[0], Status: "delivered", MessageID: "SM1"}, {Key: planned[1], Status: "skipped"}},
			[]Message{msg(planned[0], "SM1")},
			counts{sent: 1, accepted: 1}},
		{"wrong message id is mismatched",
			[]Row{sent(planned[0], "SM2"), {Key: planned[1], Status: "failed"}},
			[]Message{msg(planned[0], "SM1")},
			counts{sent: 1, accepted: 1, mis: 1}},
		{"a message for a failed row is mismatched",
			[]Row{sent(planned[0], "SM1"), {Key: planned[1], Status: "failed"}},
			[]Message{msg(planned[0], "SM1"), msg(planned[1], "m2")},
			counts{sent: 1, accepted: 2, mis: 1}},
		{"unplanned rows and messages are mismatched",
			[]Row{sent(planned[0], "SM1"), sent(planned[1], "m2"), sent("L-9/0/1/1/sms", "SM3")},
			[]Message{msg(planned[0], "SM1"), msg(planned[1], "m2"), msg("L-9/0/1/1/sms", "SM3"), msg("", "m4")},
			counts{sent: 2, accepted: 3, mis: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckNotices(planned, tc.rows, tc.taken)
			got := counts{r.Sent, r.UnknownAccepted, r.UnknownNotAccepted, r.Accepted, r.Duplicates, r.Lost, r.Mismatched}
			if got != tc.want {
				t.Errorf("counts %+v, want %+v (problems %q)", got, tc.want, r.Problems)
			}
		})
	}
}

func TestCheckLoan(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	asOf := time.Date(2026, 12, 11, 10, 0, 0, 0, loc)
	l := policy.Loan{LoanID: "L-1", Currency: "CNY", Policy: "default",
		Customer: policy.Customer{ID: "C-1", Phone: "+8613800138000", Locale: "zh-CN", TimeZone: "Asia/Shanghai"},
		Installments: []policy.Installment{{Seq: 1, DueDate: policy.Date{Year: 2026, Month: 12, Day: 1},
			Principal: dec("1000.00"), Interest: dec("45.00"), Fee: decimal.Zero}}}
	p := policy.Default()
	reps := []policy.Repayment{{TxnID: "T1", Amount: dec("600.00"), PaidAt: time.Date(2026, 12, 6, 10, 0, 0, 0, loc), Currency: "CNY"}}
	snap, err := policy.SnapshotAt(l, p, policy.History{Repayments: reps}, asOf)
	if err != nil {
		t.Fatal(err)
	}
	// The README's worked example: penalties 3.65 posted, late fee 20.00.
	ledger := []LedgerRow{{Kind: "loan_started"}, {Kind: kindPenalty, Amount: dec("2.00")}, {Kind: kindLateFee, Amount: dec("20.00")},
		{Kind: kindPenalty, Amount: dec("0.50")}, {Kind: kindRepayment, Amount: dec("600.00")}, {Kind: kindPenalty, Amount: dec("1.15")}}
	for _, tc := range []struct {
		name   string
		reps   []policy.Repayment
		got    func(policy.Snapshot) policy.Snapshot
		ledger []LedgerRow
		want   string // a problem's beginning; "" for none
	}{
		{"agrees", reps, nil, ledger, ""},
		{"balance differs", reps, func(s policy.Snapshot) policy.Snapshot {
			s.Outstanding.Total = s.Outstanding.Total.Add(dec("0.01"))
			return s
		}, ledger, "outstanding total"},
		{"a repayment the workflow does not have", nil, nil, ledger, "outstanding principal 467.5, policy says 1000"},
		{"a penalty row missing", reps, nil, ledger[:5], "ledger penalties sum to 2.5, posted 3.65"},
		{"a repayment row doubled", reps, nil, append(append([]LedgerRow{}, ledger...), LedgerRow{Kind: kindRepayment, Amount: dec("600.00")}),
			"ledger repayments sum to 1200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := snap
			if tc.got != nil {
				got = tc.got(snap)
			}
			ps := CheckLoan(l, p, tc.reps, asOf, got, tc.ledger)
			switch {
			case tc.want == "" && len(ps) > 0:
				t.Errorf("problems %q, want none", ps)
			case tc.want != "" && (len(ps) == 0 || !strings.HasPrefix(ps[0], tc.want)):
				t.Errorf("problems %q, want one starting %q", ps, tc.want)
			}
		})
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// TestMock checks the mock's faults and records: a refused call records
// nothing, an accepted or hung one records the key (Twilio: from the status
// callback) or the tag (FCM).
func TestMock(t *testing.T) {
	for _, tc := range []struct {
		name           string
		refuse, hang   float64
		status         int
		wantRecorded   int
		wantFault      Fault
		clientTimesOut bool
	}{
		{"accepts", 0, 0, http.StatusCreated, 1, Accept, false},
		{"refuses", 1, 0, http.StatusInternalServerError, 0, Refuse, false},
		{"hangs after taking it", 0, 1, 0, 1, Hang, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMock(tc.refuse, tc.hang, 1)
			srv := httptest.NewServer(m.Handler())
			defer srv.Close()
			form := url.Values{"To": {"+8613900000001"}, "Body": {"hi"},
				"StatusCallback": {srv.URL + "/v1/webhooks/twilio?key=" + url.QueryEscape("L-1/0/1/1/sms")}}
			hc := &http.Client{Timeout: 300 * time.Millisecond}
			resp, err := hc.PostForm(srv.URL+"/2010-04-01/Accounts/AC0/Messages.json", form)
			if tc.clientTimesOut {
				if err == nil {
					resp.Body.Close()
					t.Fatal("the hung call answered")
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
			}
			acc := m.Accepted()
			if len(acc) != tc.wantRecorded {
				t.Fatalf("recorded %v, want %d", acc, tc.wantRecorded)
			}
			if len(acc) == 1 && (acc[0].Ref != "L-1/0/1/1/sms" || !strings.HasPrefix(acc[0].MessageID, "SM")) {
				t.Errorf("recorded %+v", acc[0])
			}
			if m.Calls()[tc.wantFault] != 1 {
				t.Errorf("calls %v", m.Calls())
			}
		})
	}
}

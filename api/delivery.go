package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"

	"dunning/policy"
	"dunning/replies"
	"dunning/store"
	"dunning/workflows"
)

// DeliveryStore is the part of the audit store behind the delivery webhooks
// and the opt-out checks at start. A *store.Store satisfies it.
type DeliveryStore interface {
	OptOut(ctx context.Context, channel, address, source, keyword string) (bool, error)
	OptIn(ctx context.Context, channel, address, source string) (bool, error)
	OptedOut(ctx context.Context, channel, address string) (string, error)
	LoansByAddress(ctx context.Context, channel, address string) ([]string, error)
	AddLoanContacts(ctx context.Context, loanID string, contacts []store.Contact) error
	ApplyReceipt(ctx context.Context, r store.Receipt) (store.Notice, bool, error)
}

var _ DeliveryStore = (*store.Store)(nil)

// Reply is the answer to an inbound SMS: what it asked for, how many open
// loans it reached, and the confirmation to send back ("" for none: an
// opt-out already in force is confirmed once only, as carriers require).
type Reply struct {
	Action string `json:"action"`
	Loans  int    `json:"loans"`
	Reply  string `json:"reply,omitempty"`
}

// HandleReply acts on an SMS a borrower sent from phone: an opt-out keyword
// opts that number out of SMS for every loan that reaches it (and, through
// the opt_outs table, for loans started later); START or UNSTOP reverses an
// opt-out made by keyword, and only that. Anything else is left for a person.
// Signals to loans that have finished are skipped.
func HandleReply(ctx context.Context, t Temporal, d DeliveryStore, brand, phone, body string) (Reply, error) {
	act, keyword := replies.Parse(body)
	out := Reply{Action: act.String()}
	var (
		changed bool
		err     error
		signal  string
	)
	switch act {
	case replies.OptOut:
		changed, err = d.OptOut(ctx, string(policy.SMS), phone, store.OptOutKeyword, keyword)
		signal = workflows.SignalOptOut
	case replies.OptIn:
		changed, err = d.OptIn(ctx, string(policy.SMS), phone, store.OptOutKeyword)
		signal = workflows.SignalOptIn
	default:
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("reply %s: %w", out.Action, err)
	}
	loans, err := d.LoansByAddress(ctx, string(policy.SMS), phone)
	if err != nil {
		return out, fmt.Errorf("reply %s: %w", out.Action, err)
	}
	// The loans are told even when the store had nothing new (changed
	// false): a gateway retrying a request we failed half-way must still
	// reach them, and a loan takes a repeated opt-out or opt-in as a no-op.
	arg := workflows.OptSignal{Channel: policy.SMS, Source: store.OptOutKeyword, Keyword: keyword}
	for _, id := range loans {
		err := t.SignalWorkflow(ctx, workflows.WorkflowID(id), "", signal, arg)
		switch {
		case err == nil:
			out.Loans++
		case isNotFound(err): // finished: nothing to stop
		default:
			return out, temporalError("reply "+out.Action+" to loan "+id, err)
		}
	}
	if changed {
		out.Reply = replies.Confirmation(act, keyword, brand)
	}
	return out, nil
}

// inboundSMS: POST /v1/inbound/sms {"from": "+86…", "body": "…"} from an SMS
// gateway, with "Authorization: Bearer <INBOUND_TOKEN>". 200 with a Reply
// (the gateway sends reply back, if any); 400 naming the field; 401; 503
// when inbound replies are not configured.
func (s *server) inboundSMS(w http.ResponseWriter, r *http.Request) {
	if s.InboundToken == "" || s.Delivery == nil {
		writeError(w, http.StatusServiceUnavailable, "inbound replies are not configured (set INBOUND_TOKEN and DATABASE_URL)")
		return
	}
	if !bearerOK(r.Header.Get("Authorization"), s.InboundToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dunning-inbound"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var in struct {
		From string `json:"from"`
		Body string `json:"body"`
	}
	if err := policy.DecodeJSON(bytes.NewReader(body), &in); err != nil {
		writeInvalid(w, "inbound message", err)
		return
	}
	if err := policy.ValidatePhone("from", in.From); err != nil {
		writeInvalid(w, "inbound message", err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	rep, err := HandleReply(ctx, s.Temporal, s.Delivery, s.BrandName, in.From, in.Body)
	if err != nil {
		s.failDelivery(w, err)
		return
	}
	s.countReply(rep)
	writeJSON(w, http.StatusOK, rep)
}

// failDelivery answers an error of the delivery webhooks: 503 when a
// dependency does not answer (the provider retries), else 500 (logged).
func (s *server) failDelivery(w http.ResponseWriter, err error) {
	if isUnavailable(err) || errors.Is(err, ErrUnavailable) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable, try again later")
		return
	}
	s.Logger.Error("delivery webhook failed", "error", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// startOptOuts applies to a new loan the opt-outs its phone number made
// before it started: SMS is opted out, and one made by keyword is marked so
// that a START can reverse it. It fails (503) rather than start a loan whose
// opt-outs it could not read.
func startOptOuts(ctx context.Context, d DeliveryStore, in *workflows.Input) error {
	phone := in.Loan.Customer.Phone
	if d == nil || phone == "" {
		return nil
	}
	source, err := d.OptedOut(ctx, string(policy.SMS), phone)
	if err != nil {
		return fmt.Errorf("opt-outs of loan %s: %w: %w", in.Loan.LoanID, ErrUnavailable, err)
	}
	if source == "" {
		return nil
	}
	c := &in.Loan.Customer
	if !c.OptedOut(policy.SMS) {
		c.OptOuts = append(c.OptOuts, policy.SMS)
		if source == store.OptOutKeyword {
			in.KeywordOptOuts = append(in.KeywordOptOuts, policy.SMS)
		}
	}
	return nil
}

// contactsOf are the addresses of a customer that opt-outs by reply can name.
func contactsOf(c policy.Customer) []store.Contact {
	return []store.Contact{{Channel: string(policy.SMS), Address: c.Phone}}
}

// channelOf is a notice row's channel as the workflow names it.
func channelOf(ch string) policy.Channel { return policy.Channel(ch) }

// countReply counts an opt-out a reply made (once: a repeated STOP has no
// confirmation and opens none).
func (s *server) countReply(rep Reply) {
	if rep.Action == replies.OptOut.String() && rep.Reply != "" {
		s.metrics.OptOut(string(policy.SMS), store.OptOutKeyword)
	}
}

// StartChecked starts loan l under policy p like StartLoan, after applying
// the opt-outs its number made before (startOptOuts) and recording its
// contacts (so a later STOP reaches it). d nil skips both. The API and the
// CLI (start, import) start loans through it: no path sends an SMS to a
// number that replied STOP.
func StartChecked(ctx context.Context, t Temporal, d DeliveryStore, l policy.Loan, p policy.Policy, queue string) (StartResult, error) {
	in := workflows.Input{Loan: l, Policy: p}
	if err := startOptOuts(ctx, d, &in); err != nil {
		return StartResult{LoanID: l.LoanID, WorkflowID: workflows.WorkflowID(l.LoanID)}, err
	}
	if d != nil {
		// Before the start: a STOP that arrives right after must find the loan.
		if err := d.AddLoanContacts(ctx, l.LoanID, contactsOf(l.Customer)); err != nil {
			return StartResult{LoanID: l.LoanID, WorkflowID: workflows.WorkflowID(l.LoanID)},
				fmt.Errorf("contacts of loan %s: %w: %w", l.LoanID, ErrUnavailable, err)
		}
	}
	return StartInput(ctx, t, in, queue)
}

package api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"dunning/channels/twilio"
	"dunning/store"
	"dunning/workflows"
)

// TwilioWebhooks is what the Twilio webhooks need: the auth token their
// signatures are made with, and the public base URL Twilio posts to (the
// signature covers the full URL as Twilio saw it, behind any proxy).
type TwilioWebhooks struct {
	AuthToken     string
	PublicBaseURL string
}

// maxForm bounds a webhook's form body: Twilio's are a few hundred bytes.
const maxForm = 64 << 10

// twilioForm reads and authenticates a Twilio webhook: 503 when not
// configured, 400 for an unreadable form, 403 for a missing or wrong
// X-Twilio-Signature. It reports whether to go on.
func (s *server) twilioForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if s.Twilio == nil || s.Twilio.AuthToken == "" || s.Twilio.PublicBaseURL == "" || s.Delivery == nil {
		writeError(w, http.StatusServiceUnavailable, "Twilio webhooks are not configured (set TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL and DATABASE_URL)")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "unreadable form body")
		return nil, false
	}
	params := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	full := strings.TrimRight(s.Twilio.PublicBaseURL, "/") + r.URL.RequestURI()
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" || !twilio.ValidateRequest(s.Twilio.AuthToken, full, params, sig) {
		writeError(w, http.StatusForbidden, "missing or invalid X-Twilio-Signature")
		return nil, false
	}
	return r.PostForm, true
}

// twilioStatus: POST /v1/webhooks/twilio, Twilio's status callback. A final
// status moves the notice to delivered or undelivered (with Twilio's error
// code); an undelivered one whose number is dead reaches the loan, which
// opts SMS out and sends the point's notice on its fallback channel. 204;
// 400; 403; 503 (Twilio retries).
func (s *server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	cb, err := twilio.ParseStatusCallback(form)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	status, permanent, final := cb.Final()
	if !final {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	n, changed, err := s.Delivery.ApplyReceipt(ctx, store.Receipt{Key: r.URL.Query().Get("key"),
		Provider: twilio.Provider, MessageID: cb.MessageSID, Status: status, Error: cb.ErrorCode})
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.Logger.Warn("receipt for a message we do not know", "provider", twilio.Provider, "status", status)
		w.WriteHeader(http.StatusNoContent)
		return
	case err != nil:
		s.failDelivery(w, err)
		return
	}
	if changed {
		s.metrics.Receipt(twilio.Provider, status)
	}
	// What follows is repeated for a repeated receipt (the notice is already
	// undelivered): Twilio retries a receipt we answered 503, and the loan
	// must still hear of it. Both steps are idempotent.
	undelivered := status == store.NoticeUndelivered && n.Status == store.NoticeUndelivered
	if undelivered && permanent && n.Recipient != "" {
		// A dead number is dead for every loan: loans started later begin
		// with SMS opted out (by carrier: a START does not reverse it).
		opened, err := s.Delivery.OptOut(ctx, n.Channel, n.Recipient, store.OptOutCarrier, cb.ErrorCode)
		if err != nil {
			s.failDelivery(w, err)
			return
		}
		if opened {
			s.metrics.OptOut(n.Channel, store.OptOutCarrier)
		}
	}
	if undelivered {
		err := s.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(n.LoanID), "", workflows.SignalDeliveryReport,
			workflows.DeliveryReport{Key: n.IdempotencyKey, Channel: channelOf(n.Channel), Status: status, Error: cb.ErrorCode, Permanent: permanent})
		if err != nil && !isNotFound(err) {
			s.failDelivery(w, temporalError("delivery report to loan "+n.LoanID, err))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// twilioInbound: POST /v1/inbound/twilio, an SMS a borrower sent to our
// Twilio number. STOP, 退订… opt the number out (HandleReply); the answer is
// TwiML with the one confirmation, or an empty response.
func (s *server) twilioInbound(w http.ResponseWriter, r *http.Request) {
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	in, err := twilio.ParseInbound(form)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
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
	type message struct {
		Text string `xml:",chardata"`
	}
	type response struct {
		XMLName xml.Name  `xml:"Response"`
		Message []message `xml:"Message"`
	}
	resp := response{}
	if rep.Reply != "" {
		resp.Message = []message{{Text: rep.Reply}}
	}
	b, err := xml.Marshal(resp)
	if err != nil {
		s.failDelivery(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

package chaos

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
)

// Fault is what the mock provider does with one send request.
type Fault int

// The faults the mock injects.
const (
	// Accept takes the message and answers with its id.
	Accept Fault = iota
	// Refuse answers 500 without taking the message.
	Refuse
	// Hang takes the message and never answers: the client gives up after
	// its timeout, so the answer with the message id is lost.
	Hang
)

// Accepted is one message the mock provider took.
type Accepted struct {
	Provider  string // "twilio" or "fcm"
	Ref       string // Twilio: the idempotency key (from the status callback URL); FCM: the tag
	MessageID string // the id the mock gave it (also when the answer was lost)
}

// Mock is a provider that speaks Twilio's Messages API and FCM's HTTP v1
// send (with its OAuth2 token endpoint) on one handler, refuses RefuseRate
// of the sends with a 500 and hangs on HangRate of them after taking the
// message, and records every message it took. Point the worker's real
// adapters at it: TWILIO_API_URL and PUBLIC_BASE_URL (so that each request
// carries the idempotency key in its status callback), FCM_API_URL and a
// service account key whose token_uri is <url>/token.
type Mock struct {
	RefuseRate, HangRate float64

	mu       sync.Mutex
	rng      *rand.Rand
	accepted []Accepted
	calls    map[Fault]int
	seq      atomic.Int64
}

// NewMock returns a mock provider whose faults follow seed.
func NewMock(refuseRate, hangRate float64, seed uint64) *Mock {
	return &Mock{RefuseRate: refuseRate, HangRate: hangRate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		calls: map[Fault]int{}}
}

// Handler serves the Twilio and FCM endpoints.
func (m *Mock) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", m.twilio)
	mux.HandleFunc("POST /token", m.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", m.fcm)
	return mux
}

// Accepted returns every message the mock took, in order.
func (m *Mock) Accepted() []Accepted {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Accepted(nil), m.accepted...)
}

// Calls returns how many send requests met each fault.
func (m *Mock) Calls() map[Fault]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[Fault]int{}
	for k, v := range m.calls {
		out[k] = v
	}
	return out
}

// decide draws the fault of one call and, unless it refuses, records the
// message as taken.
func (m *Mock) decide(provider, ref, id string) Fault {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := Accept
	switch r := m.rng.Float64(); {
	case r < m.RefuseRate:
		f = Refuse
	case r < m.RefuseRate+m.HangRate:
		f = Hang
	}
	m.calls[f]++
	if f != Refuse {
		m.accepted = append(m.accepted, Accepted{Provider: provider, Ref: ref, MessageID: id})
	}
	return f
}

func (m *Mock) twilio(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := ""
	if cb, err := url.Parse(r.PostForm.Get("StatusCallback")); err == nil {
		key = cb.Query().Get("key")
	}
	sid := "SM" + randomHex(16)
	switch m.decide("twilio", key, sid) {
	case Refuse:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": 20500, "message": "Internal Server Error", "status": 500})
		return
	case Hang:
		<-r.Context().Done()
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"sid": sid, "status": "queued", "to": r.PostForm.Get("To")})
}

func (m *Mock) token(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "ya29.chaos", "token_type": "Bearer", "expires_in": 3600})
}

func (m *Mock) fcm(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Message struct {
			Android struct {
				Notification struct {
					Tag string `json:"tag"`
				} `json:"notification"`
			} `json:"android"`
		} `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name := fmt.Sprintf("projects/%s/messages/%d", r.PathValue("project"), m.seq.Add(1))
	switch m.decide("fcm", body.Message.Android.Notification.Tag, name) {
	case Refuse:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]any{
			"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}})
		return
	case Hang:
		<-r.Context().Done()
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

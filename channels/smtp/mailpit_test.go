package smtp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMailpit sends through a real mailpit and reads the message back
// through its HTTP API. It runs whenever MAILPIT_SMTP is set (make run
// exports MAILPIT_SMTP=127.0.0.1:1025 and MAILPIT_UI=http://localhost:8025;
// scripts/mailpit.sh start brings one up by itself), in CI too, and a set
// MAILPIT_SMTP that does not answer fails. Unset, it skips, in CI as well:
// make test starts no mailpit, and the in-process server of the other tests
// checks the same protocol, headers and MIME structure byte by byte; this
// one adds a second, independent reader of what we send.
func TestMailpit(t *testing.T) {
	addr := os.Getenv("MAILPIT_SMTP")
	if addr == "" {
		t.Skip("MAILPIT_SMTP is not set (scripts/mailpit.sh start; MAILPIT_SMTP=127.0.0.1:1025)")
	}
	api := strings.TrimSuffix(os.Getenv("MAILPIT_UI"), "/")
	if api == "" {
		host, _, _ := net.SplitHostPort(addr)
		api = "http://" + net.JoinHostPort(host, "8025")
	}
	s, err := New(Config{URL: "smtp://" + addr, From: testFrom,
		UnsubscribeURL: "mailto:unsubscribe@example.cn,https://m.example.cn/unsubscribe"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := notice(fmt.Sprintf("mailpit-test/%d/email", time.Now().UnixNano()))
	r, err := s.Send(ctx, m)
	if err != nil {
		t.Fatalf("send to mailpit at %s: %v", addr, err)
	}

	// GET /api/v1/messages lists the newest first.
	var id string
	for deadline := time.Now().Add(10 * time.Second); id == "" && time.Now().Before(deadline); {
		var list struct {
			Messages []struct{ ID, MessageID string }
		}
		getJSON(t, api+"/api/v1/messages?limit=100", &list)
		for _, msg := range list.Messages {
			if msg.MessageID == r.MessageID {
				id = msg.ID
			}
		}
		if id == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if id == "" {
		t.Fatalf("mailpit at %s has no message with Message-ID %s", api, r.MessageID)
	}
	t.Cleanup(func() { deleteMessage(t, api, id) }) // keep the developer's inbox for the demo's mail

	var got struct {
		MessageID, Subject, Text, HTML string
		From                           struct{ Name, Address string }
		To                             []struct{ Address string }
		ListUnsubscribe                struct {
			Header string
			Links  []string
			Errors string
		}
	}
	getJSON(t, api+"/api/v1/message/"+id, &got)
	if got.Subject != m.Subject {
		t.Errorf("Subject %q, want %q", got.Subject, m.Subject)
	}
	if got.From.Name != "安心借" || got.From.Address != "noreply@example.cn" {
		t.Errorf("From %+v", got.From)
	}
	if len(got.To) != 1 || got.To[0].Address != testTo {
		t.Errorf("To %+v", got.To)
	}
	// Mail has CRLF line ends; mailpit gives the text as it is on the wire.
	if text := strings.ReplaceAll(got.Text, "\r\n", "\n"); strings.TrimSpace(text) != strings.TrimSpace(m.Text) {
		t.Errorf("Text %q, want %q", got.Text, m.Text)
	}
	if !strings.Contains(got.HTML, m.HTML) {
		t.Errorf("HTML %q, want it to hold %q", got.HTML, m.HTML)
	}
	if got.ListUnsubscribe.Errors != "" || len(got.ListUnsubscribe.Links) != 2 {
		t.Errorf("List-Unsubscribe %+v: mailpit should find a mailto and an https link and no error", got.ListUnsubscribe)
	}

	var headers map[string][]string
	getJSON(t, api+"/api/v1/message/"+id+"/headers", &headers)
	for h, want := range map[string]string{
		"Message-Id":       "<" + r.MessageID + ">",
		"Auto-Submitted":   "auto-generated",
		"Content-Language": "zh-CN",
	} {
		if v := headers[h]; len(v) != 1 || v[0] != want {
			t.Errorf("%s: %q, want %q", h, v, want)
		}
	}
	if ct := headers["Content-Type"]; len(ct) != 1 || !strings.HasPrefix(ct[0], "multipart/alternative") {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("mailpit API: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func deleteMessage(t *testing.T, api, id string) {
	body, _ := json.Marshal(map[string][]string{"IDs": {id}})
	req, err := http.NewRequest(http.MethodDelete, api+"/api/v1/messages", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("delete the test message from mailpit: %v", err)
		return
	}
	_ = resp.Body.Close()
}

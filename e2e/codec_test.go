package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/proto"

	"dunning/api"
	"dunning/codec"
	"dunning/internal/testenv"
	"dunning/policy"
	"dunning/workflows"
)

// encryptedClient is a codec with a fresh random key and a Temporal client
// of the test dev server that encrypts with it (closed when the test ends).
func encryptedClient(t *testing.T) (*codec.Codec, client.Client) {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys, err := codec.ParseKeys("e2e:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	cdc, err := codec.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := client.Dial(client.Options{HostPort: os.Getenv("DUNNING_TEST_TEMPORAL"), Namespace: "default",
		DataConverter: codec.DataConverter(cdc), Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(enc.Close)
	return cdc, enc
}

// With DUNNING_ENCRYPTION_KEYS every payload leaves the worker and the API
// encrypted: the server's raw history holds none of the borrower's name,
// phone, email or push token, while a client with the keys (and the Web UI
// through the codec server) reads the loan as usual.
func TestHistoryHoldsNoPersonalData(t *testing.T) {
	raw := testenv.Temporal(t) // no codec: what the server stores
	cdc, enc := encryptedClient(t)
	s := newStack(t)
	queue := queueName(t)
	testenv.StartWorker(t, enc, s.store, s.tmpl, s.sink, queue)

	l := overdueLoan(t, 2)
	l.Customer.Name, l.Customer.Email, l.Customer.PushToken = "欧阳娜娜", "ouyang.nana@example.cn", "push-token-e2e-secret-0042"
	if _, err := api.StartLoan(context.Background(), enc, l, policy.Default(), queue); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the catch-up notices", func() (bool, string) {
		got := sentTemplates(s.notices(l.LoanID))
		return strings.Contains(got, "/sms"), got
	})
	if _, err := api.Status(context.Background(), enc, l.LoanID); err != nil {
		t.Fatalf("status through the keys: %v", err)
	}

	it := raw.GetWorkflowHistory(context.Background(), workflows.WorkflowID(l.LoanID), "", false, 0)
	var sample *commonpb.Payload
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := proto.Marshal(e)
		for _, pii := range []string{l.Customer.Name, l.Customer.Phone, strings.TrimPrefix(l.Customer.Phone, "+"), l.Customer.Email, l.Customer.PushToken} {
			if bytes.Contains(b, []byte(pii)) {
				t.Errorf("event %d (%s) holds %q in the clear", e.EventId, e.EventType, pii)
			}
		}
		if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			sample = a.GetInput().GetPayloads()[0]
		}
	}
	if sample == nil || string(sample.Metadata["encoding"]) != codec.EncodingEncrypted {
		t.Fatalf("the start input is not encrypted: %v", sample.GetMetadata())
	}

	// The Web UI's way: the API's codec server decrypts the stored input.
	srv := httptest.NewServer(api.New(api.Deps{Temporal: enc, Codec: codec.Handler(cdc, codec.HandlerOptions{AllowOrigins: []string{"http://localhost:8233"}})}))
	defer srv.Close()
	body, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{sample}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/codec/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://localhost:8233")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Payloads []struct {
			Data []byte `json:"data"`
		} `json:"payloads"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Payloads) != 1 {
		t.Fatalf("codec server: %d %v", resp.StatusCode, err)
	}
	if !bytes.Contains(out.Payloads[0].Data, []byte(l.Customer.ID)) || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:8233" {
		t.Errorf("decoded input lacks the customer id, or no CORS for the UI: %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if err := enc.SignalWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
}

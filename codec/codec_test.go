package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

func mustCodec(t *testing.T, keys string) *Codec {
	t.Helper()
	c, err := New(mustKeys(t, keys))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

type borrower struct {
	Name  string
	Phone string
}

func TestDataConverterRoundTrip(t *testing.T) {
	dc := DataConverter(mustCodec(t, "k1:"+testKey(1)))
	const name, phone = "Ada Lovelace", "+447700900123"

	tests := []struct {
		name   string
		value  any
		newPtr func() any
		secret []string // plaintext that must not appear in the encoded payload
	}{
		{
			name:   "struct with personal data",
			value:  borrower{Name: name, Phone: phone},
			newPtr: func() any { return new(borrower) },
			secret: []string{name, phone, "Phone", "json/plain"},
		},
		{name: "string", value: phone, newPtr: func() any { return new(string) }, secret: []string{phone}},
		{name: "int", value: 12345, newPtr: func() any { return new(int) }},
		{name: "bytes", value: []byte(name), newPtr: func() any { return new([]byte) }, secret: []string{name, "binary/plain"}},
		{name: "nil", value: nil, newPtr: func() any { return new(*borrower) }, secret: []string{"binary/null"}},
		{
			name:   "proto message",
			value:  &commonpb.WorkflowType{Name: name},
			newPtr: func() any { return new(commonpb.WorkflowType) },
			secret: []string{name, "json/protobuf"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := dc.ToPayload(tt.value)
			if err != nil {
				t.Fatalf("ToPayload: %v", err)
			}
			if got := string(p.Metadata[converter.MetadataEncoding]); got != EncodingEncrypted {
				t.Errorf("encoding = %q, want %q", got, EncodingEncrypted)
			}
			if got := string(p.Metadata[MetadataKeyID]); got != "k1" {
				t.Errorf("key id = %q, want k1", got)
			}
			if len(p.Metadata) != 2 {
				t.Errorf("metadata has %d entries, want 2 (encoding and key id only)", len(p.Metadata))
			}
			wire, err := proto.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.secret {
				if bytes.Contains(wire, []byte(s)) {
					t.Errorf("encoded payload contains plaintext %q", s)
				}
			}

			ptr := tt.newPtr()
			if err := dc.FromPayload(p, ptr); err != nil {
				t.Fatalf("FromPayload: %v", err)
			}
			assertRoundTrip(t, tt.value, ptr)

			// ToString decodes too (used by the SDK for logs and the UI's
			// stack traces).
			if s := dc.ToString(p); strings.Contains(s, EncodingEncrypted) {
				t.Errorf("ToString = %q, want decoded", s)
			}
		})
	}

	// ToPayloads/FromPayloads: several values in one call, as in a
	// workflow's arguments.
	ps, err := dc.ToPayloads(borrower{Name: name, Phone: phone}, "x", 7)
	if err != nil {
		t.Fatal(err)
	}
	var (
		b borrower
		s string
		i int
	)
	if err := dc.FromPayloads(ps, &b, &s, &i); err != nil {
		t.Fatal(err)
	}
	if b.Name != name || b.Phone != phone || s != "x" || i != 7 {
		t.Errorf("FromPayloads = %+v %q %d", b, s, i)
	}
}

func assertRoundTrip(t *testing.T, want, ptr any) {
	t.Helper()
	switch w := want.(type) {
	case borrower:
		if got := *ptr.(*borrower); got != w {
			t.Errorf("got %+v, want %+v", got, w)
		}
	case string:
		if got := *ptr.(*string); got != w {
			t.Errorf("got %q, want %q", got, w)
		}
	case int:
		if got := *ptr.(*int); got != w {
			t.Errorf("got %d, want %d", got, w)
		}
	case []byte:
		if got := *ptr.(*[]byte); !bytes.Equal(got, w) {
			t.Errorf("got %q, want %q", got, w)
		}
	case nil:
		if got := *ptr.(**borrower); got != nil {
			t.Errorf("got %+v, want nil", got)
		}
	case proto.Message:
		if got := ptr.(proto.Message); !proto.Equal(got, w) {
			t.Errorf("got %v, want %v", got, w)
		}
	default:
		t.Fatalf("no comparison for %T", want)
	}
}

func TestEncryptionIsRandomized(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1))
	in := []*commonpb.Payload{{Data: []byte("same")}, {Data: []byte("same")}}
	out, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(out[0].Data, out[1].Data) {
		t.Error("two encryptions of the same payload are identical: nonce reused")
	}
	// 12-byte nonce + 16-byte tag around the marshalled payload.
	plain, _ := proto.Marshal(in[0])
	if got, want := len(out[0].Data), 12+len(plain)+16; got != want {
		t.Errorf("ciphertext is %d bytes, want %d (nonce+data+tag)", got, want)
	}
}

func TestRotation(t *testing.T) {
	a, b := testKey(0xa), testKey(0xb)
	oldCodec := mustCodec(t, "a:"+a)
	newCodec := mustCodec(t, "a:"+a+",b:"+b)
	plain := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"+447700900123"`)}}

	written, err := oldCodec.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	if id := string(written[0].Metadata[MetadataKeyID]); id != "a" {
		t.Fatalf("old codec wrote with %q, want a", id)
	}
	read, err := newCodec.Decode(written)
	if err != nil {
		t.Fatalf("new codec cannot read a payload written before rotation: %v", err)
	}
	if !proto.Equal(read[0], plain[0]) {
		t.Errorf("Decode = %v, want %v", read[0], plain[0])
	}

	rewritten, err := newCodec.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	if id := string(rewritten[0].Metadata[MetadataKeyID]); id != "b" {
		t.Errorf("after rotation Encode used %q, want the newest key b", id)
	}
	// A process that was not given the new key cannot read it, and says
	// which key it lacks.
	_, err = oldCodec.Decode(rewritten)
	if !errors.Is(err, ErrUnknownKeyID) || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("old codec Decode err = %v, want ErrUnknownKeyID naming \"b\"", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1))
	secret := "+447700900123"
	good, err := c.Encode([]*commonpb.Payload{{Data: []byte(secret)}})
	if err != nil {
		t.Fatal(err)
	}
	enc := good[0]
	withData := func(data []byte) *commonpb.Payload {
		p := proto.Clone(enc).(*commonpb.Payload)
		p.Data = data
		return p
	}
	withKeyID := func(id string) *commonpb.Payload {
		p := proto.Clone(enc).(*commonpb.Payload)
		p.Metadata[MetadataKeyID] = []byte(id)
		return p
	}
	flipped := bytes.Clone(enc.Data)
	flipped[len(flipped)/2] ^= 0x01
	noKeyID := proto.Clone(enc).(*commonpb.Payload)
	delete(noKeyID.Metadata, MetadataKeyID)
	// Validly encrypted, but the plaintext is not a Payload proto: only a
	// bug or a foreign writer under our key could produce it.
	notAPayload := withData(c.aeads["k1"].Seal(nil, nil, []byte{0xff, 0xff, 0xff}, nil))

	tests := []struct {
		name    string
		p       *commonpb.Payload
		wantIs  error
		wantErr []string
	}{
		{name: "unknown key id", p: withKeyID("retired-2024"), wantIs: ErrUnknownKeyID, wantErr: []string{`"retired-2024"`, EnvVar}},
		{name: "flipped bit", p: withData(flipped), wantIs: ErrDecrypt, wantErr: []string{`key "k1"`, "tampered"}},
		{name: "truncated tag", p: withData(enc.Data[:len(enc.Data)-1]), wantIs: ErrDecrypt, wantErr: []string{`key "k1"`}},
		{name: "shorter than nonce", p: withData(enc.Data[:5]), wantIs: ErrDecrypt, wantErr: []string{`key "k1"`}},
		{name: "empty data", p: withData(nil), wantIs: ErrDecrypt, wantErr: []string{`key "k1"`}},
		{name: "missing key id", p: noKeyID, wantErr: []string{"no " + MetadataKeyID}},
		{name: "not a payload", p: notAPayload, wantErr: []string{`key "k1"`, "not a payload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []*commonpb.Payload{{Data: []byte("plain first")}, tt.p}
			out, err := c.Decode(in)
			if err == nil {
				t.Fatalf("Decode = %v, want error", out)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantIs)
			}
			for _, w := range append(tt.wantErr, "payload 1") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q leaks the payload", err)
			}
		})
	}
}

func TestDecodePassesThroughUnencrypted(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1))
	// A history written before encryption was turned on.
	old, err := converter.GetDefaultDataConverter().ToPayloads(borrower{Name: "Ada"}, "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := append(old.Payloads, &commonpb.Payload{}, nil)
	out, err := c.Decode(in)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("payload %d was changed: %v -> %v", i, in[i], out[i])
		}
	}
	// And through the full data converter.
	var b borrower
	if err := DataConverter(c).FromPayload(old.Payloads[0], &b); err != nil || b.Name != "Ada" {
		t.Errorf("FromPayload of a plain payload = %+v, %v", b, err)
	}
}

func TestEncodeNilAndMarshalError(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1))
	out, err := c.Encode([]*commonpb.Payload{nil})
	if err != nil || len(out) != 1 || out[0] != nil {
		t.Errorf("Encode([nil]) = %v, %v; want [nil]", out, err)
	}
	// Map keys are proto strings and must be valid UTF-8.
	bad := &commonpb.Payload{Metadata: map[string][]byte{"\xff": nil}}
	if _, err := c.Encode([]*commonpb.Payload{bad}); err == nil || !strings.Contains(err.Error(), "marshal payload 0") {
		t.Errorf("Encode(invalid) err = %v, want marshal error", err)
	}
}

func TestNewRequiresKeys(t *testing.T) {
	if c, err := New(Keys{}); err == nil {
		t.Errorf("New(Keys{}) = %v, want error", c)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1)+",k2:"+testKey(2))
	dc := DataConverter(c)
	done := make(chan error)
	for i := range 8 {
		go func() {
			want := borrower{Name: strings.Repeat("n", i), Phone: "+44"}
			for range 50 {
				p, err := dc.ToPayload(want)
				if err != nil {
					done <- err
					return
				}
				var got borrower
				if err := dc.FromPayload(p, &got); err != nil || got != want {
					done <- errors.Join(err, errors.New("round trip mismatch"))
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

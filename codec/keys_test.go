package codec

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testKey returns a distinct, deterministic 32-byte key as base64.
func testKey(fill byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, keySize))
}

func mustKeys(t *testing.T, s string) Keys {
	t.Helper()
	k, err := ParseKeys(s)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return k
}

func TestParseKeys(t *testing.T) {
	a, b := testKey(1), testKey(2)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name    string
		in      string
		wantIDs []string
		wantErr []string // substrings the error must contain
	}{
		{name: "one key", in: "k1:" + a, wantIDs: []string{"k1"}},
		{name: "two keys newest last", in: "old:" + a + ",new:" + b, wantIDs: []string{"old", "new"}},
		{name: "whitespace and trailing newline", in: " old : " + a + " ,\tnew:" + b + "\n", wantIDs: []string{"old", "new"}},
		{name: "id charset", in: "a.B_c-9:" + a, wantIDs: []string{"a.B_c-9"}},
		{name: "empty string", in: "", wantErr: []string{"empty", "id:base64key"}},
		{name: "only spaces", in: "  \n", wantErr: []string{"empty"}},
		{name: "empty entry", in: "k1:" + a + ",", wantErr: []string{"entry 2 is empty"}},
		{name: "no colon", in: a, wantErr: []string{"entry 1 has no ':'"}},
		{name: "empty id", in: "k1:" + a + ",:" + b, wantErr: []string{"entry 2 has an empty id"}},
		{name: "bad id chars", in: "k/1:" + a, wantErr: []string{"entry 1 has an invalid id"}},
		{name: "id too long", in: strings.Repeat("x", maxIDLen+1) + ":" + a, wantErr: []string{"entry 1 has an invalid id"}},
		{name: "duplicate id", in: "k1:" + a + ",k1:" + b, wantErr: []string{`entry 2 (id "k1") repeats the id of entry 1`}},
		{name: "bad base64", in: "k1:" + a + ",k2:not*base64!", wantErr: []string{`entry 2 (id "k2")`, "not valid standard base64"}},
		{name: "url base64 rejected", in: "k1:" + strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))), wantErr: []string{`entry 1 (id "k1")`, "base64"}},
		{name: "wrong length", in: "k1:" + short, wantErr: []string{`entry 1 (id "k1")`, "16 bytes, want 32"}},
		{name: "empty key", in: "k1:", wantErr: []string{`entry 1 (id "k1")`, "0 bytes, want 32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeys(tt.in)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("ParseKeys(%q) = %v, want error", tt.in, got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				assertNoKeyMaterial(t, err.Error(), tt.in)
				return
			}
			if err != nil {
				t.Fatalf("ParseKeys: %v", err)
			}
			if ids := got.IDs(); !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("IDs() = %v, want %v", ids, tt.wantIDs)
			}
		})
	}
}

// assertNoKeyMaterial fails if msg contains the key half of any entry in
// the key list in.
func assertNoKeyMaterial(t *testing.T, msg, in string) {
	t.Helper()
	for _, entry := range strings.Split(in, ",") {
		_, k, ok := strings.Cut(entry, ":")
		if !ok {
			k = entry // an entry without a colon may be a bare key
		}
		if k = strings.TrimSpace(k); len(k) >= 4 && strings.Contains(msg, k) {
			t.Errorf("error %q contains key material %q", msg, k)
		}
	}
}

func TestKeysNeverPrintMaterial(t *testing.T) {
	a := testKey(0x41)
	k := mustKeys(t, "k1:"+a+",k2:"+testKey(0x42))
	raw := string(bytes.Repeat([]byte{0x41}, keySize)) // "AAAA…"
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, k)
		if strings.Contains(out, a) || strings.Contains(out, raw) || strings.Contains(out, "[65 65") {
			t.Errorf("%s printed key material: %s", format, out)
		}
		if !strings.Contains(out, "k1,k2") {
			t.Errorf("%s = %q, want the ids", format, out)
		}
	}
}

func TestKeysFromEnv(t *testing.T) {
	a := testKey(1)
	tests := []struct {
		name    string
		env     map[string]string
		wantIDs []string
		wantErr []string
	}{
		{name: "set", env: map[string]string{EnvVar: "k1:" + a}, wantIDs: []string{"k1"}},
		{name: "unset", env: map[string]string{}, wantErr: []string{EnvVar + " is not set", "set it to id:base64key", "openssl rand -base64 32"}},
		{name: "blank", env: map[string]string{EnvVar: " "}, wantErr: []string{EnvVar + " is not set"}},
		{name: "invalid", env: map[string]string{EnvVar: "k1:" + a + ",k1:" + a}, wantErr: []string{EnvVar + ": ", "repeats"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeysFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				assertNoKeyMaterial(t, err.Error(), tt.env[EnvVar])
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.IDs(), tt.wantIDs) {
				t.Errorf("IDs() = %v, want %v", got.IDs(), tt.wantIDs)
			}
		})
	}
}

package temporalutil

import (
	"strings"
	"testing"
)

func TestRequireEncryption(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
	}{
		{"keys", map[string]string{"DUNNING_ENCRYPTION_KEYS": "k1:x"}, false},
		{"plain payloads chosen", map[string]string{PlaintextEnvVar: "1"}, false},
		{"neither", nil, true},
		{"plain payloads half chosen", map[string]string{PlaintextEnvVar: "true"}, true},
	}
	for _, tt := range tests {
		err := RequireEncryption(func(k string) string { return tt.env[k] })
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && (!strings.Contains(err.Error(), "DUNNING_ENCRYPTION_KEYS") || !strings.Contains(err.Error(), PlaintextEnvVar)) {
			t.Errorf("%s: the error names neither way out: %v", tt.name, err)
		}
	}
}

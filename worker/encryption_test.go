package main

import (
	"log/slog"
	"strings"
	"testing"
)

// TestRefusesPlainPayloads: without encryption keys the worker stops before
// it connects anywhere, naming the variable, unless plain payloads are chosen.
func TestRefusesPlainPayloads(t *testing.T) {
	t.Setenv("DUNNING_ENCRYPTION_KEYS", "")
	t.Setenv("DUNNING_PLAINTEXT_PAYLOADS", "")
	err := run(slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "DUNNING_ENCRYPTION_KEYS is not set") {
		t.Fatalf("run without keys: %v", err)
	}
}

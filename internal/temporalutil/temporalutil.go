// Package temporalutil connects to Temporal the same way for the worker, the
// starter and the tests: settings from the environment and the Temporal
// config file through envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE ...), so a local dev
// server, a self-hosted cluster or Temporal Cloud need no code change.
package temporalutil

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"

	"dunning/codec"
	"dunning/workflows"
)

// DefaultAddress is the dev server's gRPC address.
const DefaultAddress = "127.0.0.1:7233"

// Options loads the client options from the environment.
func Options(logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal settings from the environment: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if logger != nil {
		opts.Logger = tlog.NewStructuredLogger(logger)
	}
	c, err := Codec(os.Getenv)
	if err != nil {
		return client.Options{}, err
	}
	if c != nil {
		// Payloads (loan input, state, answers) leave this process encrypted:
		// the server's history holds ciphertext; the UI reads it through the
		// codec server (codec.Handler).
		opts.DataConverter = codec.DataConverter(c)
	}
	return opts, nil
}

// Codec is the payload codec of DUNNING_ENCRYPTION_KEYS, or nil when it is
// unset (payloads in plain JSON, as before). The worker, the API and the
// starter must all have the same keys: a process without them cannot read
// an encrypted loan.
func Codec(getenv func(string) string) (*codec.Codec, error) {
	if getenv(codec.EnvVar) == "" {
		return nil, nil
	}
	keys, err := codec.KeysFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return codec.New(keys)
}

// PlaintextEnvVar, set to 1, lets a worker or API run without
// DUNNING_ENCRYPTION_KEYS: Temporal then stores loans' input and state,
// borrowers' names, phones and emails among them, in plain JSON.
const PlaintextEnvVar = "DUNNING_PLAINTEXT_PAYLOADS"

// RequireEncryption refuses to run a long-lived process (the worker, the
// API) without payload encryption keys, unless PlaintextEnvVar is 1: personal
// data in plain text in Temporal's history is the mistake nobody notices
// until an audit, so it must be chosen out loud. CLI commands run with
// whatever the environment says (they read what the worker wrote).
func RequireEncryption(getenv func(string) string) error {
	if getenv(codec.EnvVar) != "" || getenv(PlaintextEnvVar) == "1" {
		return nil
	}
	return fmt.Errorf("%s is not set: Temporal would store borrowers' names, phones and emails in plain text. "+
		"Set it (id:base64key, 32 bytes; make run creates a development key in .data/encryption.key), "+
		"or set %s=1 to accept plain payloads", codec.EnvVar, PlaintextEnvVar)
}

// Dial connects to Temporal, retrying for up to wait so a worker started
// beside a dev server that is still booting does not give up at once. Each
// of with edits the options from the environment before the dial (the
// worker sets its MetricsHandler).
func Dial(ctx context.Context, logger *slog.Logger, wait time.Duration, with ...func(*client.Options)) (client.Client, error) {
	opts, err := Options(logger)
	if err != nil {
		return nil, err
	}
	for _, f := range with {
		f(&opts)
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// EnsureSearchAttributes registers the loan search attributes that are
// missing in the namespace; present ones are left alone.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	op := c.OperatorService()
	have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	req := &operatorservice.AddSearchAttributesRequest{Namespace: namespace}
	for _, sa := range workflows.SearchAttributes {
		if _, ok := have.GetCustomAttributes()[sa.Name]; ok {
			continue
		}
		if req.SearchAttributes == nil {
			req.SearchAttributes = map[string]enumspb.IndexedValueType{}
		}
		req.SearchAttributes[sa.Name] = sa.Type
	}
	if len(req.SearchAttributes) == 0 {
		return nil
	}
	if _, err := op.AddSearchAttributes(ctx, req); err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

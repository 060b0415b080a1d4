// Package deploy checks the files users deploy with: docker-compose.yml is
// validated against the Compose specification (no Docker engine needed).
package deploy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

func TestComposeFileIsValid(t *testing.T) {
	path, err := filepath.Abs(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("dunning"), cli.WithOsEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	names := p.ServiceNames()
	for _, want := range []string{"postgres", "temporal", "temporal-ui", "mail", "worker", "api"} {
		if !slices.Contains(names, want) {
			t.Errorf("service %q missing (have %v)", want, names)
		}
	}
	for _, svc := range []string{"worker", "api"} {
		s := p.Services[svc]
		if s.Environment["TEMPORAL_ADDRESS"] == nil || s.Environment["DATABASE_URL"] == nil {
			t.Errorf("%s lacks TEMPORAL_ADDRESS or DATABASE_URL", svc)
		}
	}
	if _, ok := p.Services["api"].Environment["API_TOKEN"]; !ok {
		t.Error("api does not pass API_TOKEN through")
	}

	// The delivery settings the worker and the API read, each passed through
	// from the environment; secrets default to nothing (never a value here).
	for svc, vars := range map[string][]string{
		"worker": {"SMS_PROVIDER", "EMAIL_PROVIDER", "PUSH_PROVIDER", "SMTP_URL", "MAIL_FROM",
			"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_API_URL",
			"ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME", "ALIYUN_SMS_TEMPLATES", "ALIYUN_SMS_ENDPOINT",
			"FCM_CREDENTIALS_FILE", "FCM_PROJECT_ID", "FCM_API_URL", "PUBLIC_BASE_URL", "SMS_RATE", "EMAIL_RATE", "PUSH_RATE", "METRICS_ADDR", "DUNNING_ENCRYPTION_KEYS"},
		"api": {"PUBLIC_BASE_URL", "TWILIO_AUTH_TOKEN", "INBOUND_TOKEN", "DUNNING_ENCRYPTION_KEYS", "CODEC_TOKEN", "CODEC_ALLOW_ORIGINS"},
	} {
		env := p.Services[svc].Environment
		for _, v := range vars {
			if _, ok := env[v]; !ok {
				t.Errorf("%s does not pass %s through", svc, v)
			}
		}
	}
	for _, svc := range []string{"worker", "api"} {
		for _, secret := range []string{"TWILIO_AUTH_TOKEN", "ALIYUN_ACCESS_KEY_SECRET", "INBOUND_TOKEN", "API_TOKEN", "DUNNING_ENCRYPTION_KEYS", "CODEC_TOKEN"} {
			if v, ok := p.Services[svc].Environment[secret]; ok && v != nil && *v != "" && *v != osEnv(secret) {
				t.Errorf("%s: %s has a value in docker-compose.yml", svc, secret)
			}
		}
	}
	if v := p.Services["worker"].Environment["EMAIL_PROVIDER"]; v == nil || *v != "smtp" && osEnv("EMAIL_PROVIDER") == "" {
		t.Errorf("the compose stack's worker should mail through the mail catcher by default (EMAIL_PROVIDER=smtp)")
	}
}

// osEnv is the variable as this process has it (compose interpolates it).
func osEnv(k string) string { return os.Getenv(k) }

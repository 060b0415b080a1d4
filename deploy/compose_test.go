// Package deploy checks the files users deploy with: docker-compose.yml is
// validated against the Compose specification and against what the code and
// the images need (no Docker engine needed).
package deploy

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"dunning/channels/providers"
	"dunning/workflows"
)

// devDBPassword is the one secret docker-compose.yml may default: the
// development password of the stack's own PostgreSQL, which is published
// nowhere (not even on 127.0.0.1). Anything else sets POSTGRES_PASSWORD.
const devDBPassword = "postgres"

// load reads docker-compose.yml with exactly env as the environment (never
// this process's), so a value found in a service comes from the file or
// from env.
func load(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("dunning"), cli.WithEnv(list))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func TestComposeFileIsValid(t *testing.T) {
	p := load(t, nil)
	names := p.ServiceNames()
	for _, want := range []string{"postgres", "temporal-setup-db", "temporal", "temporal-setup-namespace",
		"temporal-ui", "mail", "worker", "api"} {
		if !slices.Contains(names, want) {
			t.Errorf("service %q missing (have %v)", want, names)
		}
	}
	if g := p.Services["worker"].StopGracePeriod; g == nil || time.Duration(*g) < 40*time.Second {
		t.Errorf("worker stop_grace_period %v: give it at least 40s (30 s for running activities, docs/PRODUCTION.md)", g)
	}
}

// toolVersion is the version tools/go.mod pins for module mod.
func toolVersion(t *testing.T, mod string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == mod {
			return strings.TrimPrefix(fields[1], "v")
		}
	}
	t.Fatalf("tools/go.mod does not require %s", mod)
	return ""
}

// version is a tag that names a release: a digit, or v and a digit, first.
var version = regexp.MustCompile(`^v?[0-9]`)

// Every image is pinned to a version (never latest, never untagged); the
// Temporal images are the supported ones (temporalio/auto-setup is
// deprecated and no longer updated) at the version of the dev server the
// tests run (tools/go.mod): the server and admin-tools at its server
// version, the Web UI at its UI version.
func TestComposeImagesArePinned(t *testing.T) {
	p := load(t, nil)
	server := toolVersion(t, "go.temporal.io/server")
	ui := toolVersion(t, "github.com/temporalio/ui-server/v2")
	for name, s := range p.Services {
		if s.Image == "" {
			if s.Build == nil {
				t.Errorf("%s: neither image nor build", name)
			}
			continue
		}
		if strings.Contains(s.Image, "@sha256:") {
			continue
		}
		repo, tag, ok := imageTag(s.Image)
		if !ok || tag == "latest" || !version.MatchString(tag) {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		switch repo {
		case "temporalio/auto-setup":
			t.Errorf("%s: temporalio/auto-setup is deprecated: use temporalio/server and temporalio/admin-tools", name)
		case "temporalio/server":
			if tag != server {
				t.Errorf("%s: temporalio/server:%s, but the dev server (tools/go.mod) runs %s", name, tag, server)
			}
		case "temporalio/admin-tools":
			if tag != server && !strings.HasPrefix(tag, server+"-") {
				t.Errorf("%s: temporalio/admin-tools:%s does not match server %s", name, tag, server)
			}
		case "temporalio/ui":
			if tag != ui {
				t.Errorf("%s: temporalio/ui:%s, but the dev server (tools/go.mod) serves %s", name, tag, ui)
			}
		}
	}
}

// imageTag splits an image reference into repository and tag.
func imageTag(image string) (repo, tag string, ok bool) {
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return image, "", false
	}
	return image[:colon], image[colon+1:], true
}

// oneShot reports whether a service runs to completion: a job compose
// does not restart after it exits 0.
func oneShot(s types.ServiceConfig) bool {
	r := s.Restart
	return r == "" || r == types.RestartPolicyNo || r == types.RestartPolicyOnFailure || strings.HasPrefix(r, types.RestartPolicyOnFailure+":")
}

// Every depends_on names a condition its target can meet: service_healthy a
// service with a health check, service_completed_successfully a one-shot
// job (restart "no" or on-failure, with its own entrypoint or command).
func TestComposeDependenciesCanBeMet(t *testing.T) {
	p := load(t, nil)
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			target, ok := p.Services[dep]
			if !ok {
				t.Errorf("%s depends on %s, which is not a service", name, dep)
				continue
			}
			switch d.Condition {
			case types.ServiceConditionHealthy:
				hc := target.HealthCheck
				if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
					t.Errorf("%s waits for %s to be healthy, but %s has no health check", name, dep, dep)
				}
			case types.ServiceConditionCompletedSuccessfully:
				if !oneShot(target) || len(target.Entrypoint) == 0 && len(target.Command) == 0 {
					t.Errorf("%s waits for %s to complete, but %s is not a one-shot job (restart %q)", name, dep, dep, target.Restart)
				}
			case types.ServiceConditionStarted:
			default:
				t.Errorf("%s depends on %s with condition %q", name, dep, d.Condition)
			}
		}
	}
	// The order Temporal needs: schemas before the server, the namespace
	// before anything uses it.
	for _, want := range [][3]string{
		{"temporal", "temporal-setup-db", types.ServiceConditionCompletedSuccessfully},
		{"temporal-setup-namespace", "temporal", types.ServiceConditionHealthy},
		{"worker", "temporal-setup-namespace", types.ServiceConditionCompletedSuccessfully},
		{"api", "temporal-setup-namespace", types.ServiceConditionCompletedSuccessfully},
		{"temporal-ui", "temporal-setup-namespace", types.ServiceConditionCompletedSuccessfully},
	} {
		if d, ok := p.Services[want[0]].DependsOn[want[1]]; !ok || d.Condition != want[2] {
			t.Errorf("%s should depend on %s (%s)", want[0], want[1], want[2])
		}
	}
}

// binaries are the commands each image has, from its Dockerfile
// (temporalio/docker-builds server.Dockerfile and admin-tools.Dockerfile for
// the 1.29 images; Alpine's busybox gives sh and nc). tctl is left out on
// purpose: it is retired.
var binaries = map[string][]string{
	"postgres":               {"pg_isready", "psql", "sh"},
	"temporalio/server":      {"temporal", "temporal-server", "nc", "sh"},
	"temporalio/admin-tools": {"temporal", "temporal-sql-tool", "nc", "sh", "/bin/sh"},
}

// Health checks and jobs run commands their image has, and nothing uses
// tctl (retired).
func TestComposeCommandsExistInTheirImages(t *testing.T) {
	p := load(t, nil)
	tctl := regexp.MustCompile(`\btctl\b`)
	for name, s := range p.Services {
		repo, _, _ := imageTag(s.Image)
		if hc := s.HealthCheck; hc != nil && len(hc.Test) > 1 {
			cmd := hc.Test[1]
			if hc.Test[0] == "CMD-SHELL" {
				cmd = strings.Fields(cmd)[0]
			}
			if have, known := binaries[repo]; known && !slices.Contains(have, cmd) {
				t.Errorf("%s: health check runs %s, which %s does not have (%v)", name, cmd, repo, have)
			}
		}
		var check []string
		if s.HealthCheck != nil {
			check = s.HealthCheck.Test
		}
		for _, part := range [][]string{check, s.Entrypoint, s.Command} {
			if tctl.MatchString(strings.Join(part, " ")) {
				t.Errorf("%s runs tctl, which is retired: use the temporal CLI", name)
			}
		}
		if len(s.Entrypoint) > 0 {
			if have, known := binaries[repo]; known && !slices.Contains(have, s.Entrypoint[0]) {
				t.Errorf("%s: entrypoint %s, which %s does not have", name, s.Entrypoint[0], repo)
			}
		}
	}
	// The jobs' scripts.
	scripts, _ := filepath.Glob(filepath.Join("temporal", "*.sh"))
	if len(scripts) == 0 {
		t.Fatal("no scripts in deploy/temporal")
	}
	for _, f := range scripts {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if code, _, _ := strings.Cut(line, "#"); tctl.MatchString(code) {
				t.Errorf("%s:%d runs tctl, which is retired", f, i+1)
			}
		}
	}
}

// Every published port is bound to 127.0.0.1: the Temporal frontend, the
// Web UI, the mail catcher and the API have no authentication here (the API
// has none without API_TOKEN).
func TestComposePublishesOnLoopbackOnly(t *testing.T) {
	p := load(t, nil)
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if port.Published != "" && port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s on %q: bind it to 127.0.0.1", name, port.Published, port.HostIP)
			}
		}
	}
}

// The namespace job registers exactly the search attributes the workflow
// sets (workflows.SearchAttributes), as the dev server script does.
func TestComposeRegistersTheSearchAttributes(t *testing.T) {
	want := map[string]string{}
	for _, sa := range workflows.SearchAttributes {
		want[sa.Name] = strings.ToUpper(strings.TrimPrefix(sa.Type.String(), "INDEXED_VALUE_TYPE_"))
	}
	for _, tc := range []struct{ file, pattern string }{
		{filepath.Join("temporal", "setup-namespace.sh"), `--name (\w+) --type (\w+)`},
		{filepath.Join("..", "scripts", "devserver.sh"), `--search-attribute (\w+)=(\w+)`},
	} {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, m := range regexp.MustCompile(tc.pattern).FindAllStringSubmatch(string(b), -1) {
			got[m[1]] = strings.ToUpper(m[2])
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s registers %v, the workflow sets %v", tc.file, got, want)
		}
	}
}

// secret reports whether a variable holds a secret, by its name.
func secret(name string) bool {
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "PWD", "ENCRYPTION_KEYS", "API_KEY"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// providerVariables are the variables providers.FromEnv reads when every
// channel has a real provider (each SMS provider in turn).
func providerVariables() []string {
	seen := map[string]bool{}
	for _, sms := range []string{providers.Twilio, providers.Aliyun} {
		chosen := map[string]string{"SMS_PROVIDER": sms, "EMAIL_PROVIDER": providers.SMTP, "PUSH_PROVIDER": providers.FCM}
		_, _ = providers.FromEnv(func(k string) string { seen[k] = true; return chosen[k] }, nil, slog.New(slog.DiscardHandler))
	}
	return slices.Sorted(maps.Keys(seen))
}

// The worker and the API get every variable the code reads, each passed
// through from the environment (so .env or the orchestrator sets it), and
// the file holds no secret's value.
func TestComposeEnvironment(t *testing.T) {
	provider := providerVariables()
	if !slices.Contains(provider, "TWILIO_AUTH_TOKEN") || !slices.Contains(provider, "ALIYUN_SMS_TEMPLATES") {
		t.Fatalf("recording the provider variables failed: %v", provider)
	}
	passed := map[string][]string{
		"worker": append([]string{"TEMPORAL_NAMESPACE", "DUNNING_BRAND", "DUNNING_HOTLINE", "DUNNING_REPAY_URL",
			"LOG_LEVEL", "SMS_RATE", "EMAIL_RATE", "PUSH_RATE", "METRICS_ADDR", "WORKER_PPROF", "WORKFLOW_CACHE_SIZE",
			"DUNNING_ENCRYPTION_KEYS", "DUNNING_PLAINTEXT_PAYLOADS"}, provider...),
		"api": {"TEMPORAL_NAMESPACE", "API_TOKEN", "API_INSECURE", "LOG_LEVEL", "PUBLIC_BASE_URL", "TWILIO_AUTH_TOKEN",
			"INBOUND_TOKEN", "DUNNING_BRAND", "DUNNING_ENCRYPTION_KEYS", "DUNNING_PLAINTEXT_PAYLOADS", "CODEC_TOKEN", "CODEC_ALLOW_ORIGINS"},
		"temporal-setup-namespace": {"TEMPORAL_NAMESPACE", "TEMPORAL_RETENTION"},
		"temporal-ui":              {"TEMPORAL_CODEC_ENDPOINT"},
	}
	fixed := map[string][]string{ // present, set by the file
		"worker": {"TEMPORAL_ADDRESS", "DATABASE_URL", "LOG_FORMAT"},
		"api":    {"TEMPORAL_ADDRESS", "DATABASE_URL", "LOG_FORMAT"},
	}

	// Every variable the worker's and the API's code names is there (a new
	// setting cannot be forgotten here).
	for svc, files := range map[string][]string{
		"worker": {filepath.Join("..", "worker", "*.go"), filepath.Join("..", "internal", "config", "config.go")},
		"api":    {filepath.Join("..", "starter", "serve.go")},
	} {
		for _, v := range namesRead(t, files...) {
			if !slices.Contains(passed[svc], v) && !slices.Contains(fixed[svc], v) {
				t.Errorf("%s reads %s, which docker-compose.yml does not set (add it, passed through from the environment)", svc, v)
			}
		}
	}

	// Each passed-through variable arrives from the environment.
	env := map[string]string{}
	for _, vars := range passed {
		for _, v := range vars {
			env[v] = "from-env-" + v
		}
	}
	p := load(t, env)
	for svc, vars := range passed {
		for _, v := range vars {
			if got := p.Services[svc].Environment[v]; got == nil || *got != env[v] {
				t.Errorf("%s does not pass %s through from the environment", svc, v)
			}
		}
		for _, v := range fixed[svc] {
			if got := p.Services[svc].Environment[v]; got == nil || *got == "" {
				t.Errorf("%s lacks %s", svc, v)
			}
		}
	}

	// With nothing in the environment, no service holds a secret.
	p = load(t, nil)
	for name, s := range p.Services {
		for k, v := range s.Environment {
			if v == nil || *v == "" {
				continue
			}
			if secret(k) && !(dbPassword(k) && *v == devDBPassword) {
				t.Errorf("%s: %s has a value in docker-compose.yml", name, k)
			}
			if u, err := url.Parse(*v); err == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok && pw != devDBPassword {
					t.Errorf("%s: %s holds a password in docker-compose.yml", name, k)
				}
			}
		}
	}
	w := p.Services["worker"].Environment
	for k, want := range map[string]string{"SMS_PROVIDER": "dev", "EMAIL_PROVIDER": "smtp", "PUSH_PROVIDER": "dev",
		"SMTP_URL": "smtp://mail:1025"} {
		if got := w[k]; got == nil || *got != want {
			t.Errorf("worker %s defaults to %v, want %s (the dev sink and the mail catcher)", k, deref(got), want)
		}
	}
	// The Web UI decrypts through the API's codec server, which allows the UI's origin.
	ui, api := p.Services["temporal-ui"].Environment, p.Services["api"].Environment
	if e := ui["TEMPORAL_CODEC_ENDPOINT"]; e == nil || *e != "http://localhost:8080/codec" {
		t.Errorf("temporal-ui TEMPORAL_CODEC_ENDPOINT = %v, want the API's /codec", deref(e))
	}
	if o := api["CODEC_ALLOW_ORIGINS"]; o == nil || !slices.Contains(strings.Split(*o, ","), "http://localhost:8233") {
		t.Errorf("api CODEC_ALLOW_ORIGINS = %v, want the Web UI's origin http://localhost:8233", deref(o))
	}
}

// envName is a variable named in code: getenv("X"), os.Getenv("X"), env("X", …).
var envName = regexp.MustCompile(`(?:[gG]etenv|\benv)\("([A-Z][A-Z0-9_]*)"`)

// namesRead are the variables the non-test Go files matching patterns name.
func namesRead(t *testing.T, patterns ...string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, pat := range patterns {
		files, err := filepath.Glob(pat)
		if err != nil || len(files) == 0 {
			t.Fatalf("no files match %s", pat)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range envName.FindAllStringSubmatch(string(b), -1) {
				seen[m[1]] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// dbPassword names the variables that carry the stack's database password.
func dbPassword(k string) bool {
	return k == "POSTGRES_PASSWORD" || k == "POSTGRES_PWD" || k == "SQL_PASSWORD"
}

func deref(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return fmt.Sprintf("%q", *s)
}

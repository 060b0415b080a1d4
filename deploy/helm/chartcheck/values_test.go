package chartcheck

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// secretRef returns the Secret key reference of variable name in c, or nil.
func secretRef(c *corev1.Container, name string) *corev1.SecretKeySelector {
	if e := env(c, name); e != nil && e.ValueFrom != nil {
		return e.ValueFrom.SecretKeyRef
	}
	return nil
}

func TestDefaultValues(t *testing.T) {
	r := render(t)
	checkRelease(t, r)
	if len(r.hpas) != 0 || len(r.ingresses) != 0 {
		t.Errorf("optional parts on by default: %d HPAs, %d Ingresses", len(r.hpas), len(r.ingresses))
	}
	w := r.mainContainer(t, workerName)
	for _, name := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} {
		if e := env(w, name); e == nil || e.Value == "" {
			t.Errorf("worker: %s unset", name)
		}
	}
	// Self-hosted: no credentials demanded; the API key is read if present.
	if ref := secretRef(w, "TEMPORAL_API_KEY"); ref == nil || ref.Optional == nil || !*ref.Optional {
		t.Errorf("worker TEMPORAL_API_KEY %+v: want an optional Secret key", ref)
	}
	// No provider by default: the worker refuses to start rather than send nothing.
	for _, name := range []string{"SMS_PROVIDER", "EMAIL_PROVIDER", "PUSH_PROVIDER"} {
		if e := env(w, name); e != nil {
			t.Errorf("worker: %s=%q by default", name, e.Value)
		}
	}
	for _, name := range []string{workerName, apiName, migrateName} {
		if ref := secretRef(r.mainContainer(t, name), "DATABASE_URL"); ref == nil || ref.Name != "dunning" {
			t.Errorf("%s DATABASE_URL %+v: want the key of Secret dunning", name, ref)
		}
	}
}

func TestCloudValues(t *testing.T) {
	r := render(t, "-f", filepath.Join(chart, "values-cloud.yaml"))
	checkRelease(t, r)
	for _, name := range []string{workerName, apiName} {
		c := r.mainContainer(t, name)
		if ref := secretRef(c, "TEMPORAL_API_KEY"); ref == nil || ref.Optional == nil || *ref.Optional {
			t.Errorf("%s TEMPORAL_API_KEY %+v: want a required Secret key", name, ref)
		}
		if e := env(c, "TEMPORAL_TLS"); e == nil || e.Value != "true" {
			t.Errorf("%s TEMPORAL_TLS %+v: want true", name, e)
		}
		if e := env(c, "TEMPORAL_ADDRESS"); e == nil || !strings.HasSuffix(e.Value, ":7233") {
			t.Errorf("%s TEMPORAL_ADDRESS %+v", name, e)
		}
		if e := env(c, "TEMPORAL_NAMESPACE"); e == nil || !strings.Contains(e.Value, ".") {
			t.Errorf("%s TEMPORAL_NAMESPACE %+v: a Cloud namespace is <namespace>.<account>", name, e)
		}
	}
	if e := env(r.mainContainer(t, apiName), "CODEC_ALLOW_ORIGINS"); e == nil || e.Value != "https://cloud.temporal.io" {
		t.Errorf("api CODEC_ALLOW_ORIGINS %+v: the Cloud Web UI's origin", e)
	}
}

func TestEverythingOn(t *testing.T) {
	r := render(t, "-f", filepath.Join("testdata", "all-on.yaml"))
	checkRelease(t, r)
	for _, name := range []string{workerName, apiName} {
		if r.hpas[name] == nil {
			t.Errorf("no HorizontalPodAutoscaler %s", name)
		}
	}
	for _, name := range []string{apiName, "dunning-codec"} {
		ing := r.ingresses[name]
		if ing == nil {
			t.Fatalf("no Ingress %s", name)
		}
		if len(ing.Spec.TLS) != 1 || ing.Spec.IngressClassName == nil {
			t.Errorf("Ingress %s: TLS %+v, class %v", name, ing.Spec.TLS, ing.Spec.IngressClassName)
		}
	}
	codec := r.ingresses["dunning-codec"].Spec.Rules[0].HTTP.Paths
	if len(codec) != 1 || codec[0].Path != "/codec" {
		t.Errorf("codec Ingress paths %+v: want /codec alone", codec)
	}

	w, a := r.mainContainer(t, workerName), r.mainContainer(t, apiName)
	for c, secret := range map[*corev1.Container]string{w: "dunning-worker", a: "dunning-api", r.mainContainer(t, migrateName): "dunning-migrate"} {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != secret {
				t.Errorf("container %s: %s from Secret %s, want %s", c.Name, e.Name, e.ValueFrom.SecretKeyRef.Name, secret)
			}
		}
	}
	for _, c := range []*corev1.Container{w, a} {
		for _, name := range []string{"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH"} {
			if env(c, name) == nil {
				t.Errorf("%s: %s unset with temporal.auth=mtls and a server CA", c.Name, name)
			}
		}
	}
	if e := env(w, "FCM_CREDENTIALS_FILE"); e == nil || !strings.HasSuffix(e.Value, "/service-account.json") {
		t.Errorf("worker FCM_CREDENTIALS_FILE %+v", e)
	}
	if env(a, "FCM_CREDENTIALS_FILE") != nil {
		t.Errorf("the API gets FCM's key, which only the worker uses")
	}
	if !strings.Contains(w.Image, "@sha256:") {
		t.Errorf("image %s: the digest should win over the tag", w.Image)
	}
	if sa := r.jobs[migrateName].Spec.Template.Spec.ServiceAccountName; sa != "dunning-migrate" {
		t.Errorf("migration ServiceAccount %q", sa)
	}
}

// TestRefusedValues: settings that cannot work, or would put a secret in a
// manifest, fail the render with a message naming the setting.
func TestRefusedValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a secret in env", []string{"--set-string", "env.DATABASE_URL=postgres://u:p@db/dunning"}, "DATABASE_URL is a secret"},
		{"a secret in worker.env", []string{"--set-string", "worker.env.TWILIO_AUTH_TOKEN=x"}, "TWILIO_AUTH_TOKEN is a secret"},
		{"a secret in api.env", []string{"--set-string", "api.env.API_TOKEN=x"}, "API_TOKEN is a secret"},
		{"a secret in migrate.env", []string{"--set-string", "migrate.env.DATABASE_URL=x"}, "DATABASE_URL is a secret"},
		{"a Temporal key inline", []string{"--set-string", "env.TEMPORAL_TLS_CLIENT_KEY_DATA=x"}, "TEMPORAL_TLS_CLIENT_KEY_DATA is a secret"},
		{"the chart's own METRICS_ADDR", []string{"--set-string", "worker.env.METRICS_ADDR=:1"}, "METRICS_ADDR is set by the chart"},
		{"the chart's own FCM_CREDENTIALS_FILE", []string{"--set", "worker.fcmCredentials.secretName=fcm", "--set-string", "worker.env.FCM_CREDENTIALS_FILE=/x"}, "FCM_CREDENTIALS_FILE is set by the chart"},
		{"the chart's own certificate path", []string{"--set", "temporal.auth=mtls", "--set", "temporal.mtls.secretName=c", "--set-string", "env.TEMPORAL_TLS_CLIENT_KEY_PATH=/x"}, "TEMPORAL_TLS_CLIENT_KEY_PATH is set by the chart"},
		{"latest", []string{"--set", "image.tag=latest"}, "latest is not a version"},
		{"a bad digest", []string{"--set", "image.digest=md5:00"}, "image.digest"},
		{"unknown auth", []string{"--set", "temporal.auth=password"}, "/temporal/auth"},
		{"a misspelt setting", []string{"--set", "worker.replica=3"}, "'replica' not allowed"},
		{"mtls without a certificate", []string{"--set", "temporal.auth=mtls"}, "temporal.mtls.secretName"},
		{"no Secret", []string{"--set", "existingSecret="}, "existingSecret"},
		{"a short grace period", []string{"--set", "worker.terminationGracePeriodSeconds=35"}, "terminationGracePeriodSeconds"},
		{"a map in env", []string{"--set", "env.LOG_LEVEL.x=y"}, "/env/LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := helmTemplate(t, tt.args...)
			if err == nil {
				t.Fatalf("rendered:\n%.400s", out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// Where the code reads variables: which process each directory runs in.
// Directories not listed (tests, e2e, the CLI's other commands, tools) are
// not deployed.
var readers = []struct {
	prefix     string
	containers []string
}{
	{"worker/", []string{workerName}},
	{"activities/", []string{workerName}},
	{"channels/", []string{workerName}},
	{"metrics/", []string{workerName, apiName}},
	{"api/", []string{apiName}},
	{"starter/serve.go", []string{apiName}},
	{"codec/", []string{workerName, apiName}},
	{"internal/config/", []string{workerName, apiName}},
	{"internal/temporalutil/", []string{workerName, apiName}},
	{"store/", []string{workerName, apiName, migrateName}},
}

// Variables read with a name the scan cannot see: built at run time
// (worker/main.go: strings.ToUpper(channel) + "_RATE") or through the SDK's
// envconfig (internal/temporalutil).
var dynamic = map[string][]string{
	workerName: {"SMS_RATE", "EMAIL_RATE", "PUSH_RATE"},
	"temporal": {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "TEMPORAL_TLS_SERVER_NAME",
		"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH",
		"TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_CLIENT_AUTHORITY", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE"},
}

// Variables the chart always sets itself. FCM_CREDENTIALS_FILE and the
// TEMPORAL_TLS_* paths it sets only when it mounts their files
// (TestEverythingOn); otherwise env sets them.
var setByChart = []string{"METRICS_ADDR"}

var readsEnv = []*regexp.Regexp{
	regexp.MustCompile(`(?:[Gg]etenv|LookupEnv|\benv)\(\s*"([A-Z][A-Z0-9_]*)"`),
	regexp.MustCompile(`\b[A-Za-z]*Env[A-Za-z]*\s*=\s*"([A-Z][A-Z0-9_]*)"`), // const EnvURL = "SMTP_URL"
	regexp.MustCompile(`"([A-Z]+_PROVIDER)"`),
}

// variablesRead scans the deployed packages' Go files (tests excluded) for
// the variables they read, by the container that runs them.
func variablesRead(t *testing.T) map[string][]string {
	t.Helper()
	read := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || rel == "tools" || rel == "deploy" || rel == "e2e" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		var in []string
		for _, r := range readers {
			if strings.HasPrefix(rel, r.prefix) {
				in = r.containers
			}
		}
		if in == nil {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range readsEnv {
			for _, m := range re.FindAllSubmatch(b, -1) {
				for _, c := range in {
					if read[c] == nil {
						read[c] = map[string]bool{}
					}
					read[c][string(m[1])] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{workerName, apiName} {
		for _, name := range dynamic["temporal"] {
			read[c][name] = true
		}
	}
	for _, name := range dynamic[workerName] {
		read[workerName][name] = true
	}
	out := map[string][]string{}
	for c, names := range read {
		out[c] = slices.Sorted(maps.Keys(names))
	}
	// The scan must keep finding what we know is read, or it proves nothing.
	for c, want := range map[string][]string{
		workerName: {"SMS_PROVIDER", "TWILIO_AUTH_TOKEN", "ALIYUN_ACCESS_KEY_SECRET", "SMTP_URL", "UNSUBSCRIBE_URL",
			"FCM_CREDENTIALS_FILE", "METRICS_ADDR", "DATABASE_URL", "DUNNING_ENCRYPTION_KEYS", "DUNNING_PLAINTEXT_PAYLOADS",
			"WORKFLOW_CACHE_SIZE", "DUNNING_BRAND", "LOG_LEVEL"},
		apiName: {"API_TOKEN", "INBOUND_TOKEN", "CODEC_TOKEN", "CODEC_ALLOW_ORIGINS", "API_INSECURE", "TWILIO_AUTH_TOKEN",
			"PUBLIC_BASE_URL", "DUNNING_ENCRYPTION_KEYS"},
	} {
		for _, name := range want {
			if !slices.Contains(out[c], name) {
				t.Fatalf("the scan of the code found no %s read by %s; found %v", name, c, out[c])
			}
		}
	}
	return out
}

// TestEveryVariableSettable: every variable the worker and the API read can
// be set through the chart, each secret by reference to a Secret key in the
// containers that read it, everything else through env.
func TestEveryVariableSettable(t *testing.T) {
	read := variablesRead(t)
	for _, c := range []string{workerName, apiName} {
		t.Logf("%s reads %v", c, read[c])
	}
	component := map[string]string{workerName: "worker", apiName: "api"}
	var args []string
	for _, c := range []string{workerName, apiName} {
		for _, name := range read[c] {
			if !secretLike(name) && !slices.Contains(setByChart, name) {
				args = append(args, "--set-string", component[c]+".env."+name+"=set-"+strings.ToLower(name))
			}
		}
	}
	r := render(t, args...)
	for _, c := range []string{workerName, apiName} {
		ctr := r.mainContainer(t, c)
		for _, name := range read[c] {
			e := env(ctr, name)
			switch {
			case e == nil:
				t.Errorf("%s reads %s, which the chart cannot set there", c, name)
			case secretLike(name):
				if ref := secretRef(ctr, name); ref == nil || ref.Key != name {
					t.Errorf("%s: secret %s must come from a Secret key of that name: %+v", c, name, e)
				}
			case slices.Contains(setByChart, name):
				if e.Value == "" {
					t.Errorf("%s: %s empty", c, name)
				}
			case e.Value != "set-"+strings.ToLower(name):
				t.Errorf("%s: %s=%q, want the value given in %s.env", c, name, e.Value, component[c])
			}
		}
		// Secrets go only where they are read.
		for _, e := range ctr.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !slices.Contains(read[c], e.Name) {
				t.Errorf("%s gets secret %s, which it never reads", c, e.Name)
			}
		}
	}

	// env reaches every container; a component's env wins over it.
	r = render(t, "--set-string", "env.LOG_LEVEL=debug", "--set-string", "api.env.LOG_LEVEL=warn")
	for c, want := range map[string]string{workerName: "debug", apiName: "warn", migrateName: "debug"} {
		if e := env(r.mainContainer(t, c), "LOG_LEVEL"); e == nil || e.Value != want {
			t.Errorf("%s LOG_LEVEL %+v, want %s", c, e, want)
		}
	}
}

package chartcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// root is the repository, from this package's directory.
var root = filepath.Join("..", "..", "..")

// chart is the chart's directory.
var chart = filepath.Join(root, "deploy", "helm", "dunning")

// helmBinary is HELM or .bin/helm. Without it the tests skip, except with
// CI=true, where they fail.
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = filepath.Join(root, ".bin", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("no helm at %s (CI=true): run scripts/helm.sh", bin)
		}
		t.Skipf("no helm at %s: run scripts/helm.sh (make test does)", bin)
	}
	return bin
}

// release is one rendered chart: its objects by kind and name.
type release struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	accounts    map[string]*corev1.ServiceAccount
	configMaps  map[string]*corev1.ConfigMap
	pdbs        map[string]*policyv1.PodDisruptionBudget
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	ingresses   map[string]*networkingv1.Ingress
	jobs        map[string]*batchv1.Job
}

// helmTemplate runs `helm template` on the chart with args and returns its
// output, or the error and helm's stderr.
func helmTemplate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), append([]string{"template", "dunning", chart, "--namespace", "lending"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// render renders the chart with args and decodes every object strictly.
func render(t *testing.T, args ...string) *release {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	r, err := decode(out)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return r
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decode reads a stream of manifests into their k8s.io/api types: a kind
// the chart is not expected to render, or a field the type does not have,
// is an error.
func decode(stream string) (*release, error) {
	r := &release{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		accounts: map[string]*corev1.ServiceAccount{}, configMaps: map[string]*corev1.ConfigMap{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
		ingresses: map[string]*networkingv1.Ingress{}, jobs: map[string]*batchv1.Job{},
	}
	for i, doc := range docSeparator.Split(stream, -1) {
		js, err := yaml.YAMLToJSONStrict([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if string(js) == "null" {
			continue // comments only
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &meta); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var obj any
		switch meta.APIVersion + " " + meta.Kind {
		case "apps/v1 Deployment":
			obj = put(r.deployments, meta.Metadata.Name)
		case "v1 Service":
			obj = put(r.services, meta.Metadata.Name)
		case "v1 ServiceAccount":
			obj = put(r.accounts, meta.Metadata.Name)
		case "v1 ConfigMap":
			obj = put(r.configMaps, meta.Metadata.Name)
		case "policy/v1 PodDisruptionBudget":
			obj = put(r.pdbs, meta.Metadata.Name)
		case "autoscaling/v2 HorizontalPodAutoscaler":
			obj = put(r.hpas, meta.Metadata.Name)
		case "networking.k8s.io/v1 Ingress":
			obj = put(r.ingresses, meta.Metadata.Name)
		case "batch/v1 Job":
			obj = put(r.jobs, meta.Metadata.Name)
		case "v1 Secret":
			return nil, fmt.Errorf("document %d: the chart renders a Secret (%s); secrets are referenced by name, never created", i, meta.Metadata.Name)
		default:
			return nil, fmt.Errorf("document %d: unexpected %s %s %q", i, meta.APIVersion, meta.Kind, meta.Metadata.Name)
		}
		if meta.Metadata.Name == "" {
			return nil, fmt.Errorf("document %d: %s without a name", i, meta.Kind)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			return nil, fmt.Errorf("%s %s: %w", meta.Kind, meta.Metadata.Name, err)
		}
	}
	return r, nil
}

// put adds a new object named name to m and returns it.
func put[T any](m map[string]*T, name string) *T {
	v := new(T)
	m[name] = v
	return v
}

func TestDecodeIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"unknown kind":  "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"a secret":      "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {API_TOKEN: t}\n",
		"wrong type":    "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: eighty}]}\n",
		"duplicate key": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x, name: y}\n",
	} {
		if _, err := decode("---\n" + doc); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	r, err := decode("# comment\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n---\n")
	if err != nil || r.accounts["x"] == nil {
		t.Errorf("a valid stream: %v", err)
	}
}

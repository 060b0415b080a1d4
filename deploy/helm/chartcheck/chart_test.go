package chartcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names of the objects with release name "dunning" (helmTemplate's).
const (
	workerName  = "dunning-worker"
	apiName     = "dunning-api"
	migrateName = "dunning-migrate"
)

// metricsFlush is how long the worker's stop takes after its workers have
// stopped: serveMetrics' stop flushes the SDK's metrics and shuts the
// endpoint down within 5 s (worker/metrics.go).
const metricsFlushSeconds = 5

// secretLike reports whether a variable holds a secret (or a URL with a
// password in it), by its name.
func secretLike(name string) bool {
	if name == "DATABASE_URL" || name == "SMTP_URL" {
		return true
	}
	for _, s := range []string{"TOKEN", "SECRET", "PASSWORD", "PWD", "API_KEY", "ENCRYPTION_KEYS", "ACCESS_KEY", "KEY_DATA", "CERT_DATA", "CODEC_AUTH"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// container is one container of a rendered pod, named by its owner.
type container struct {
	owner string
	pod   *corev1.PodSpec
	c     *corev1.Container
	// long-running (a Deployment's): needs probes.
	serving bool
}

func (r *release) containers() []container {
	var out []container
	for _, name := range slices.Sorted(maps.Keys(r.deployments)) {
		pod := &r.deployments[name].Spec.Template.Spec
		for i := range pod.Containers {
			out = append(out, container{owner: "Deployment " + name, pod: pod, c: &pod.Containers[i], serving: true})
		}
		for i := range pod.InitContainers {
			out = append(out, container{owner: "Deployment " + name + " (init)", pod: pod, c: &pod.InitContainers[i]})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.jobs)) {
		pod := &r.jobs[name].Spec.Template.Spec
		for i := range pod.Containers {
			out = append(out, container{owner: "Job " + name, pod: pod, c: &pod.Containers[i]})
		}
	}
	return out
}

// env returns the container's variable name, or nil.
func env(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// mainContainer is the first container of Deployment or Job name.
func (r *release) mainContainer(t *testing.T, name string) *corev1.Container {
	t.Helper()
	if d, ok := r.deployments[name]; ok {
		return &d.Spec.Template.Spec.Containers[0]
	}
	if j, ok := r.jobs[name]; ok {
		return &j.Spec.Template.Spec.Containers[0]
	}
	t.Fatalf("no Deployment or Job %s", name)
	return nil
}

// checkRelease checks what every rendering must satisfy.
func checkRelease(t *testing.T, r *release) {
	t.Helper()
	for _, want := range []string{workerName, apiName} {
		if r.deployments[want] == nil {
			t.Fatalf("no Deployment %s; have %v", want, slices.Sorted(maps.Keys(r.deployments)))
		}
	}
	if r.services[apiName] == nil {
		t.Errorf("no Service %s", apiName)
	}
	for _, c := range r.containers() {
		checkContainer(t, c)
	}
	for name, cm := range r.configMaps {
		for k := range cm.Data {
			if secretLike(k) {
				t.Errorf("ConfigMap %s holds %s: a secret goes in the Secret", name, k)
			}
		}
	}
	checkWorker(t, r)
	checkAPI(t, r)
	checkMigration(t, r)
	checkReferences(t, r)
}

var pinnedImage = regexp.MustCompile(`^[^:@\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)

func checkContainer(t *testing.T, k container) {
	t.Helper()
	c, where := k.c, k.owner+" container "+k.c.Name

	// Pinned image: a tag other than latest, or a digest.
	tag, _, _ := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], "@")
	_, version, hasTag := strings.Cut(tag, ":")
	if !pinnedImage.MatchString(c.Image) || !(hasTag || strings.Contains(c.Image, "@sha256:")) || version == "latest" {
		t.Errorf("%s: image %q is not pinned (a version tag or @sha256: digest; never latest)", where, c.Image)
	}
	if c.ImagePullPolicy == corev1.PullAlways {
		t.Errorf("%s: imagePullPolicy Always with a pinned image", where)
	}

	// Resources: requests for the scheduler, a memory limit against leaks.
	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
		t.Errorf("%s: resources want cpu and memory requests and a memory limit: %+v", where, c.Resources)
	} else if lim.Memory().Cmp(*req.Memory()) < 0 {
		t.Errorf("%s: memory limit %s under its request %s", where, lim.Memory(), req.Memory())
	} else if e := env(c, "GOMEMLIMIT"); e == nil {
		t.Errorf("%s: no GOMEMLIMIT: the Go GC does not know the container's memory limit", where)
	}

	// Probes on what serves.
	if k.serving {
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: wants a readiness and a liveness probe", where)
		}
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
			if p == nil {
				continue
			}
			if p.HTTPGet == nil {
				t.Errorf("%s: probe without httpGet", where)
				continue
			}
			if !hasPort(c, p.HTTPGet.Port) {
				t.Errorf("%s: probe on port %s, which the container does not declare", where, p.HTTPGet.Port.String())
			}
		}
	}

	// Non-root, read-only, no privilege: the image is distroless nonroot.
	sc, psc := c.SecurityContext, k.pod.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: wants readOnlyRootFilesystem and no privilege escalation", where)
	}
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod wants runAsNonRoot", where)
	}
	if k.pod.AutomountServiceAccountToken == nil || *k.pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a Kubernetes API token it never uses", where)
	}

	// Environment: secrets only by reference, no empty TEMPORAL_* (envconfig
	// treats a variable set to "" as set), no variable twice.
	seen := map[string]bool{}
	for _, e := range c.Env {
		if seen[e.Name] {
			t.Errorf("%s: %s set twice", where, e.Name)
		}
		seen[e.Name] = true
		if secretLike(e.Name) {
			ref := (*corev1.SecretKeySelector)(nil)
			if e.ValueFrom != nil {
				ref = e.ValueFrom.SecretKeyRef
			}
			if e.Value != "" || ref == nil || ref.Name == "" || ref.Key != e.Name {
				t.Errorf("%s: %s must come from a Secret's key %s, by reference: %+v", where, e.Name, e.Name, e)
			}
		}
		if e.ValueFrom == nil && e.Value == "" {
			t.Errorf("%s: %s set to the empty string", where, e.Name)
		}
		if f := e.ValueFrom; f != nil && f.ResourceFieldRef != nil && f.ResourceFieldRef.ContainerName != c.Name {
			t.Errorf("%s: %s reads the resources of container %q", where, e.Name, f.ResourceFieldRef.ContainerName)
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil {
			t.Errorf("%s: envFrom a whole Secret hands every key to the process; reference each key", where)
		}
	}

	// Every mount has its volume; every *_PATH or *_FILE variable lies under a mount.
	vols := map[string]corev1.Volume{}
	for _, v := range k.pod.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("%s: mount %s has no volume", where, m.Name)
		}
	}
	for _, e := range c.Env {
		if !strings.HasSuffix(e.Name, "_PATH") && !strings.HasSuffix(e.Name, "_FILE") {
			continue
		}
		m := mountOf(c, e.Value)
		if m == nil {
			t.Errorf("%s: %s=%s is under no volume mount", where, e.Name, e.Value)
			continue
		}
		v := vols[m.Name]
		if v.Secret == nil || !m.ReadOnly {
			t.Errorf("%s: %s lies on %s, not a read-only Secret volume", where, e.Name, m.Name)
			continue
		}
		file := strings.TrimPrefix(strings.TrimPrefix(e.Value, m.MountPath), "/")
		if !slices.ContainsFunc(v.Secret.Items, func(it corev1.KeyToPath) bool { return it.Path == file }) {
			t.Errorf("%s: %s=%s: the Secret volume %s projects no %s", where, e.Name, e.Value, m.Name, file)
		}
	}
}

func hasPort(c *corev1.Container, p intstr.IntOrString) bool {
	return slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
		if p.Type == intstr.String {
			return cp.Name == p.StrVal
		}
		return cp.ContainerPort == p.IntVal
	})
}

func mountOf(c *corev1.Container, path string) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func checkWorker(t *testing.T, r *release) {
	t.Helper()
	d := r.deployments[workerName]
	pod := d.Spec.Template.Spec
	c := &pod.Containers[0]

	stop := workerStopTimeout(t)
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= stop+metricsFlushSeconds {
		t.Errorf("worker terminationGracePeriodSeconds %v: must exceed the worker's stop timeout (%d s) plus the metrics flush (%d s)",
			g, stop, metricsFlushSeconds)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("worker readiness probe %+v: want GET /readyz", c.ReadinessProbe)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("worker liveness probe %+v: want GET /healthz", c.LivenessProbe)
	}
	// The probes reach METRICS_ADDR, on every interface.
	addr := env(c, "METRICS_ADDR")
	if addr == nil || len(c.Ports) == 0 || addr.Value != fmt.Sprintf(":%d", c.Ports[0].ContainerPort) {
		t.Errorf("worker METRICS_ADDR %+v, ports %+v: want :<the metrics port>", addr, c.Ports)
	}
	if s := d.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable == nil || s.MaxUnavailable.IntValue() != 0 {
		t.Errorf("worker rollout %+v: a new worker must be ready before an old one stops (maxUnavailable 0)", d.Spec.Strategy)
	}
	if pdb := r.pdbs[workerName]; pdb == nil {
		t.Errorf("no PodDisruptionBudget for the worker")
	}
}

func checkAPI(t *testing.T, r *release) {
	t.Helper()
	pod := r.deployments[apiName].Spec.Template.Spec
	c := &pod.Containers[0]
	if len(c.Command) < 2 || filepath.Base(c.Command[0]) != "starter" || c.Command[1] != "serve" {
		t.Errorf("api command %v: want starter serve", c.Command)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("api readiness probe %+v: want GET /readyz", c.ReadinessProbe)
	}
	sleep := int64(0)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		sleep = c.Lifecycle.PreStop.Sleep.Seconds
	}
	grace := seconds(t, filepath.Join(root, "starter", "serve.go"), "shutdownGrace")
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= sleep+grace {
		t.Errorf("api terminationGracePeriodSeconds %v: must exceed the preStop sleep (%d s) plus serve's shutdown grace (%d s)", g, sleep, grace)
	}
	if r.pdbs[apiName] == nil {
		t.Errorf("no PodDisruptionBudget for the API")
	}
}

func checkMigration(t *testing.T, r *release) {
	t.Helper()
	j := r.jobs[migrateName]
	if j == nil {
		t.Fatalf("no Job %s", migrateName)
	}
	a := j.Annotations
	if a["helm.sh/hook"] != "pre-install,pre-upgrade" {
		t.Errorf("migration Job hook %q: want pre-install,pre-upgrade", a["helm.sh/hook"])
	}
	if !strings.Contains(a["helm.sh/hook-delete-policy"], "before-hook-creation") {
		t.Errorf("migration Job hook-delete-policy %q: a second upgrade could not create it again", a["helm.sh/hook-delete-policy"])
	}
	c := j.Spec.Template.Spec.Containers[0]
	if len(c.Command) < 2 || filepath.Base(c.Command[0]) != "starter" || c.Command[1] != "migrate" {
		t.Errorf("migration command %v: want starter migrate", c.Command)
	}
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("migration restartPolicy %q", j.Spec.Template.Spec.RestartPolicy)
	}
	if j.Spec.ActiveDeadlineSeconds == nil || j.Spec.BackoffLimit == nil {
		t.Errorf("migration Job without a deadline or a backoff limit: a stuck one would hold the upgrade")
	}
	if e := env(&c, "DATABASE_URL"); e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Optional == nil || *e.ValueFrom.SecretKeyRef.Optional {
		t.Errorf("migration DATABASE_URL %+v: want a required Secret key", e)
	}
	// A pre-install hook runs before the release's ServiceAccount exists.
	if sa := j.Spec.Template.Spec.ServiceAccountName; sa != "" && r.accounts[sa] != nil {
		t.Errorf("migration Job runs as %s, which the same release creates after the hook", sa)
	}
}

// checkReferences: selectors, targets and backends point at what exists.
func checkReferences(t *testing.T, r *release) {
	t.Helper()
	podLabels := func(name string) map[string]string {
		if d := r.deployments[name]; d != nil {
			return d.Spec.Template.Labels
		}
		return nil
	}
	matches := func(sel, labels map[string]string) bool {
		if len(sel) == 0 {
			return false
		}
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return true
	}
	for name, d := range r.deployments {
		if !matches(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("Deployment %s: selector %v does not select its pods %v", name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
		if sa := d.Spec.Template.Spec.ServiceAccountName; sa != "" && sa != "default" && r.accounts[sa] == nil {
			t.Logf("Deployment %s runs as ServiceAccount %s, which this release does not create", name, sa)
		}
	}
	for name, p := range r.pdbs {
		if p.Spec.Selector == nil || !matches(p.Spec.Selector.MatchLabels, podLabels(name)) {
			t.Errorf("PodDisruptionBudget %s selects no pods of Deployment %s", name, name)
		}
		if p.Spec.UnhealthyPodEvictionPolicy == nil || *p.Spec.UnhealthyPodEvictionPolicy != "AlwaysAllow" {
			t.Errorf("PodDisruptionBudget %s: pods that are not ready must not block a drain", name)
		}
	}
	for name, h := range r.hpas {
		ref := h.Spec.ScaleTargetRef
		d := r.deployments[ref.Name]
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || d == nil {
			t.Errorf("HorizontalPodAutoscaler %s scales %v, not a Deployment of the release", name, ref)
			continue
		}
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas while %s scales it: every upgrade would reset them", ref.Name, name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas || len(h.Spec.Metrics) == 0 {
			t.Errorf("HorizontalPodAutoscaler %s: bounds %v..%d, %d metrics", name, h.Spec.MinReplicas, h.Spec.MaxReplicas, len(h.Spec.Metrics))
		}
	}
	for name, s := range r.services {
		var target *corev1.Container
		for dn, d := range r.deployments {
			if matches(s.Spec.Selector, d.Spec.Template.Labels) {
				if target != nil {
					t.Errorf("Service %s selects the pods of more than one Deployment (%s too)", name, dn)
				}
				target = &d.Spec.Template.Spec.Containers[0]
			}
		}
		if target == nil {
			t.Errorf("Service %s selects no Deployment's pods", name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if !hasPort(target, p.TargetPort) {
				t.Errorf("Service %s port %s: targetPort %s is not a port of container %s", name, p.Name, p.TargetPort.String(), target.Name)
			}
		}
	}
	for name, ing := range r.ingresses {
		for _, rule := range ing.Spec.Rules {
			if rule.Host == "" || rule.HTTP == nil {
				t.Errorf("Ingress %s: a rule without host or paths", name)
				continue
			}
			for _, p := range rule.HTTP.Paths {
				svc := r.services[p.Backend.Service.Name]
				if svc == nil {
					t.Errorf("Ingress %s: backend Service %s does not exist", name, p.Backend.Service.Name)
					continue
				}
				if !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
					return sp.Name == p.Backend.Service.Port.Name || sp.Port == p.Backend.Service.Port.Number
				}) {
					t.Errorf("Ingress %s: Service %s has no port %v", name, svc.Name, p.Backend.Service.Port)
				}
			}
		}
		for _, tls := range ing.Spec.TLS {
			if tls.SecretName == "" || len(tls.Hosts) == 0 {
				t.Errorf("Ingress %s: TLS without a Secret or hosts", name)
			}
		}
	}
}

// workerStopTimeout is workerStopTimeout in worker/main.go, in seconds; the
// chart's dunning.workerStopTimeoutSeconds must say the same.
func workerStopTimeout(t *testing.T) int64 {
	t.Helper()
	s := seconds(t, filepath.Join(root, "worker", "main.go"), "workerStopTimeout")
	b, err := os.ReadFile(filepath.Join(chart, "templates", "_helpers.tpl"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`define "dunning.workerStopTimeoutSeconds" -}}(\d+){{`).FindSubmatch(b)
	if m == nil || string(m[1]) != strconv.FormatInt(s, 10) {
		t.Errorf("_helpers.tpl dunning.workerStopTimeoutSeconds %q, worker/main.go says %d", m, s)
	}
	return s
}

// seconds reads `const name = N * time.Second` (or time.Minute) from a Go file.
func seconds(t *testing.T, file, name string) int64 {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	obj := f.Scope.Lookup(name)
	if obj == nil || obj.Kind != ast.Con {
		t.Fatalf("%s: no constant %s", file, name)
	}
	spec := obj.Decl.(*ast.ValueSpec)
	for i, id := range spec.Names {
		if id.Name != name {
			continue
		}
		bin, ok := spec.Values[i].(*ast.BinaryExpr)
		if !ok || bin.Op != token.MUL {
			break
		}
		lit, ok1 := bin.X.(*ast.BasicLit)
		unit, ok2 := bin.Y.(*ast.SelectorExpr)
		if !ok1 || !ok2 || lit.Kind != token.INT {
			break
		}
		n, err := strconv.ParseInt(lit.Value, 10, 64)
		if err != nil {
			break
		}
		switch unit.Sel.Name {
		case "Second":
			return n
		case "Minute":
			return n * 60
		}
	}
	t.Fatalf("%s: %s is not N * time.Second or N * time.Minute", file, name)
	return 0
}

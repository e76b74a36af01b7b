// Package kubernetes_test checks the kustomize base in this directory without
// a cluster: every manifest decodes strictly into its Kubernetes API type (a
// misspelt or misplaced field fails, as the API server would reject it), and
// the deployment's invariants hold: probes, security context, shutdown
// timing, one image, CronJob concurrency, autoscaler versus disruption budget.
package kubernetes_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The shutdown sequence the server follows after SIGTERM, when the ConfigMap
// does not say otherwise: SHUTDOWN_DRAIN (keep serving, /readyz 503), then
// SHUTDOWN_TIMEOUT (finish in-flight requests).
const (
	defaultDrain    = 5 * time.Second
	defaultShutdown = 15 * time.Second
	// graceMargin is the least slack terminationGracePeriodSeconds must leave
	// after preStop + drain + shutdown before the kubelet sends SIGKILL.
	graceMargin = 5 * time.Second
)

// secretKeys are the settings that must come from the Secret, never the ConfigMap.
var secretKeys = []string{"DATABASE_URL", "JWT_SECRET", "SMTP_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}

// decoder decodes the API types the base uses, strictly: unknown, duplicate
// and wrongly cased fields are errors.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(appsv1.AddToScheme(scheme))
	utilruntime.Must(batchv1.AddToScheme(scheme))
	utilruntime.Must(policyv1.AddToScheme(scheme))
	utilruntime.Must(autoscalingv2.AddToScheme(scheme))
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// kustomization is the part of kustomize's Kustomization this base uses.
// Decoding into it strictly makes a field this test does not know an error:
// extend the struct (and the checks) when the base grows.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images"`
}

// document is one decoded YAML document of a manifest file.
type document struct {
	file string
	obj  runtime.Object
}

func (d document) String() string {
	m, err := metaOf(d.obj)
	if err != nil {
		return d.file
	}
	return fmt.Sprintf("%s: %s %s", d.file, d.obj.GetObjectKind().GroupVersionKind().Kind, m.GetName())
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// splitYAML returns the non-empty documents of a (multi-document) YAML
// stream, each converted to JSON (duplicate keys are an error).
func splitYAML(r io.Reader) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", len(docs)+1, err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || string(t) == "null" {
			continue // only comments, or an empty document between separators
		}
		docs = append(docs, js)
	}
}

// decodeManifest decodes one JSON document into its registered API type.
func decodeManifest(js []byte) (runtime.Object, error) {
	obj, gvk, err := decoder.Decode(js, nil, nil)
	if err != nil {
		return nil, err
	}
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("document without apiVersion/kind")
	}
	return obj, nil
}

func isKustomization(path string) bool {
	switch filepath.Base(path) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

func isYAML(path string) bool {
	ext := filepath.Ext(path)
	return ext == ".yaml" || ext == ".yml"
}

// base is the decoded kustomize base of this directory.
type base struct {
	kust kustomization
	docs []document
}

func loadBase(t *testing.T) *base {
	t.Helper()
	b := &base{}
	kdocs, err := readFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(kdocs) != 1 {
		t.Fatalf("kustomization.yaml: %d documents, want 1", len(kdocs))
	}
	strictErrs, err := strictjson.UnmarshalStrict(kdocs[0], &b.kust)
	if err = errors.Join(append(strictErrs, err)...); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if b.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" || b.kust.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: apiVersion/kind = %s/%s", b.kust.APIVersion, b.kust.Kind)
	}

	// Every manifest file under this directory, at any depth.
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isYAML(path) || isKustomization(path) {
			return err
		}
		docs, err := readFile(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if len(docs) == 0 {
			t.Errorf("%s: no document", path)
		}
		for i, js := range docs {
			obj, err := decodeManifest(js)
			if err != nil {
				t.Errorf("%s: document %d: %v", path, i+1, err)
				continue
			}
			b.docs = append(b.docs, document{file: path, obj: obj})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return b
}

func readFile(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return splitYAML(f)
}

// only returns the one object of type T, failing unless there is exactly one.
func only[T runtime.Object](t *testing.T, b *base) T {
	t.Helper()
	all := all[T](b)
	if len(all) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(all), zero)
	}
	return all[0]
}

func all[T runtime.Object](b *base) []T {
	var out []T
	for _, d := range b.docs {
		if o, ok := d.obj.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// podTemplate is a pod template of a workload, named for messages.
type podTemplate struct {
	owner string
	tmpl  *corev1.PodTemplateSpec
}

func podTemplates(b *base) []podTemplate {
	var out []podTemplate
	for _, d := range b.docs {
		switch o := d.obj.(type) {
		case *appsv1.Deployment:
			out = append(out, podTemplate{d.String(), &o.Spec.Template})
		case *batchv1.Job:
			out = append(out, podTemplate{d.String(), &o.Spec.Template})
		case *batchv1.CronJob:
			out = append(out, podTemplate{d.String(), &o.Spec.JobTemplate.Spec.Template})
		case *corev1.Pod, *appsv1.StatefulSet, *appsv1.DaemonSet, *appsv1.ReplicaSet:
			// Not expected here; fail rather than leave it unchecked.
			out = append(out, podTemplate{d.String() + " (unchecked kind)", nil})
		}
	}
	return out
}

func allContainers(spec *corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

// TestStrictDecodingCatchesTypos makes sure the decoder this test relies on
// rejects what a strict API server would: a misspelt field, a field in the
// wrong place, a wrongly cased field, a duplicate key and an unknown kind.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	const good = `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: referral-api
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
`
	bad := map[string]string{
		"misspelt field":   strings.Replace(good, "readinessProbe", "readinesProbe", 1),
		"misplaced field":  strings.Replace(good, "      containers:", "      replicas: 2\n      containers:", 1),
		"wrong case":       strings.Replace(good, "readinessProbe", "ReadinessProbe", 1),
		"duplicate key":    strings.Replace(good, "image: referral-api", "image: referral-api\n          image: other", 1),
		"unknown kind":     strings.Replace(good, "kind: Deployment", "kind: Deploymint", 1),
		"wrong value type": strings.Replace(good, "selector: {matchLabels: {a: b}}", "selector: {matchLabels: [a]}", 1),
	}
	decode := func(s string) error {
		docs, err := splitYAML(strings.NewReader(s))
		if err != nil {
			return err
		}
		for _, js := range docs {
			if _, err := decodeManifest(js); err != nil {
				return err
			}
		}
		return nil
	}
	if err := decode(good); err != nil {
		t.Fatalf("valid document rejected: %v", err)
	}
	for name, doc := range bad {
		if err := decode(doc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Documents are split on ---, and comment-only documents are skipped.
	docs, err := splitYAML(strings.NewReader("# comment\n---\n" + good + "---\n# trailing\n---\n" + good))
	if err != nil || len(docs) != 2 {
		t.Fatalf("split: %d documents, %v; want 2", len(docs), err)
	}
}

// TestKustomizationListsEveryFile: kubectl apply -k applies only what the
// kustomization lists, so a manifest left out would silently not be deployed.
func TestKustomizationListsEveryFile(t *testing.T) {
	b := loadBase(t)
	var files []string
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && isYAML(e.Name()) && !isKustomization(e.Name()) {
			files = append(files, e.Name())
		}
	}
	listed := slices.Clone(b.kust.Resources)
	sort.Strings(files)
	sort.Strings(listed)
	if !slices.Equal(files, listed) {
		t.Errorf("kustomization resources %v, manifest files %v: list every file, and only existing files", listed, files)
	}
	if len(slices.Compact(slices.Clone(listed))) != len(listed) {
		t.Errorf("a resource is listed twice: %v", listed)
	}
}

func TestOneImage(t *testing.T) {
	b := loadBase(t)
	if len(b.kust.Images) != 1 {
		t.Fatalf("kustomization images: %d entries, want 1 (the one place the image is named)", len(b.kust.Images))
	}
	img := b.kust.Images[0]
	if img.Name == "" || img.NewName == "" || (img.NewTag == "" && img.Digest == "") {
		t.Errorf("kustomization image %+v: want name, newName and newTag or digest", img)
	}
	templates := podTemplates(b)
	if len(templates) != 4 {
		t.Errorf("%d pod templates, want 4 (server, migration, two CronJobs)", len(templates))
	}
	for _, pt := range templates {
		if pt.tmpl == nil {
			t.Errorf("%s", pt.owner)
			continue
		}
		for _, c := range allContainers(&pt.tmpl.Spec) {
			if c.Image != img.Name {
				t.Errorf("%s: container %s: image %q, want the kustomization's %q", pt.owner, c.Name, c.Image, img.Name)
			}
		}
	}
}

// TestSecurityContext: every pod runs as a non-root user, read-only, with no
// privilege escalation, no capabilities and the runtime's seccomp profile.
func TestSecurityContext(t *testing.T) {
	b := loadBase(t)
	for _, pt := range podTemplates(b) {
		if pt.tmpl == nil {
			t.Errorf("%s", pt.owner)
			continue
		}
		spec := &pt.tmpl.Spec
		psc := spec.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if psc.RunAsUser != nil && *psc.RunAsUser == 0 {
			t.Errorf("%s: pod runAsUser 0", pt.owner)
		}
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: automountServiceAccountToken should be false (the service never calls the API server)", pt.owner)
		}
		for _, c := range allContainers(spec) {
			where := pt.owner + ": container " + c.Name
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s: no securityContext", where)
				continue
			}
			// Container settings override the pod's.
			runAsNonRoot := psc.RunAsNonRoot
			if sc.RunAsNonRoot != nil {
				runAsNonRoot = sc.RunAsNonRoot
			}
			if runAsNonRoot == nil || !*runAsNonRoot {
				t.Errorf("%s: runAsNonRoot is not true", where)
			}
			user := psc.RunAsUser
			if sc.RunAsUser != nil {
				user = sc.RunAsUser
			}
			// The kubelet can verify runAsNonRoot only for a numeric user; the
			// distroless image's USER may be a name.
			if user == nil || *user == 0 {
				t.Errorf("%s: runAsUser should be a non-zero number", where)
			}
			seccomp := psc.SeccompProfile
			if sc.SeccompProfile != nil {
				seccomp = sc.SeccompProfile
			}
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: seccompProfile is not RuntimeDefault", where)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if sc.Privileged != nil && *sc.Privileged {
				t.Errorf("%s: privileged", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities should drop ALL and add none", where)
			}
		}
	}
}

// TestEnvironment: every container reads the same ConfigMap and Secret; the
// secrets are only in the Secret; servers do not migrate (the Job does).
func TestEnvironment(t *testing.T) {
	b := loadBase(t)
	cm := only[*corev1.ConfigMap](t, b)
	secret := only[*corev1.Secret](t, b)

	if got := cm.Data["AUTO_MIGRATE"]; got != "false" {
		t.Errorf("ConfigMap AUTO_MIGRATE = %q, want false: the migration Job migrates", got)
	}
	var keys []string
	for k := range secret.StringData {
		keys = append(keys, k)
	}
	for k := range secret.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if !slices.Equal(keys, secretKeys) {
		t.Errorf("Secret keys %v, want %v", keys, secretKeys)
	}
	for _, k := range secretKeys {
		if _, ok := cm.Data[k]; ok {
			t.Errorf("ConfigMap holds %s, a secret", k)
		}
	}

	for _, pt := range podTemplates(b) {
		if pt.tmpl == nil {
			continue
		}
		for _, c := range allContainers(&pt.tmpl.Spec) {
			where := pt.owner + ": container " + c.Name
			var fromCM, fromSecret bool
			for _, src := range c.EnvFrom {
				if src.ConfigMapRef != nil && src.ConfigMapRef.Name == cm.Name {
					fromCM = true
				}
				if src.SecretRef != nil && src.SecretRef.Name == secret.Name {
					fromSecret = true
				}
			}
			if !fromCM || !fromSecret {
				t.Errorf("%s: envFrom should name ConfigMap %s and Secret %s", where, cm.Name, secret.Name)
			}
			for _, e := range c.Env {
				if slices.Contains(secretKeys, e.Name) && e.ValueFrom == nil {
					t.Errorf("%s: %s given as a literal value", where, e.Name)
				}
				if e.Name == "AUTO_MIGRATE" {
					t.Errorf("%s: AUTO_MIGRATE overridden; it belongs in the ConfigMap", where)
				}
			}
			checkResources(t, where, c.Resources)
		}
	}
}

func checkResources(t *testing.T, where string, r corev1.ResourceRequirements) {
	t.Helper()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := r.Requests[name]
		lim, hasLim := r.Limits[name]
		if !hasReq || !hasLim {
			t.Errorf("%s: %s request and limit must both be set", where, name)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above limit %s", where, name, req.String(), lim.String())
		}
	}
}

// configDuration reads a duration from the ConfigMap, or def when absent.
func configDuration(t *testing.T, cm *corev1.ConfigMap, key string, def time.Duration) time.Duration {
	t.Helper()
	v, ok := cm.Data[key]
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("ConfigMap %s: %v", key, err)
	}
	return d
}

func serverContainer(t *testing.T, dep *appsv1.Deployment) *corev1.Container {
	t.Helper()
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Deployment %s: %d containers, want 1", dep.Name, len(dep.Spec.Template.Spec.Containers))
	}
	return &dep.Spec.Template.Spec.Containers[0]
}

// containerPort resolves a probe's or Service's port (number or name) to
// one of the container's ports.
func containerPort(c *corev1.Container, port intstr.IntOrString) (int32, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

// TestServer: the Deployment's probes, shutdown timing and port.
func TestServer(t *testing.T) {
	b := loadBase(t)
	dep := only[*appsv1.Deployment](t, b)
	cm := only[*corev1.ConfigMap](t, b)
	c := serverContainer(t, dep)

	if len(c.Args) > 0 && c.Args[0] != "serve" {
		t.Errorf("server args %v, want serve", c.Args)
	}
	if len(c.Command) > 0 {
		t.Errorf("server command %v: keep the image's entrypoint", c.Command)
	}

	// The port the server listens on is the container port named http.
	addr := cm.Data["HTTP_ADDR"]
	_, listenPort, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("ConfigMap HTTP_ADDR %q: %v", addr, err)
	}
	if p, ok := containerPort(c, intstr.FromString("http")); !ok || strconv.Itoa(int(p)) != listenPort || p != 8080 {
		t.Errorf("container port http = %d (found %v), want 8080 = HTTP_ADDR's port %s", p, ok, listenPort)
	}

	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
	}
	if c.StartupProbe != nil {
		// A startup probe gates liveness; it must not depend on the database.
		probes = append(probes, struct {
			name  string
			probe *corev1.Probe
			path  string
		}{"startupProbe", c.StartupProbe, "/healthz"})
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an HTTP GET probe of %s", p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s path %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if n, ok := containerPort(c, p.probe.HTTPGet.Port); !ok || n != 8080 {
			t.Errorf("%s port %s does not resolve to container port 8080", p.name, p.probe.HTTPGet.Port.String())
		}
	}

	// Stopping: preStop sleep, then SIGTERM; the server drains, then shuts
	// down; the kubelet must not SIGKILL before it is done.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("preStop: want the sleep action (the image has no shell for exec)")
	}
	if c.Lifecycle.PreStop.Exec != nil || c.Lifecycle.PreStop.HTTPGet != nil {
		t.Error("preStop: only the sleep action")
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	if preStop <= 0 {
		t.Errorf("preStop sleep %v, want > 0", preStop)
	}
	drain := configDuration(t, cm, "SHUTDOWN_DRAIN", defaultDrain)
	shutdown := configDuration(t, cm, "SHUTDOWN_TIMEOUT", defaultShutdown)
	grace := dep.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Fatal("terminationGracePeriodSeconds not set (the default 30s is not derived from the shutdown timing)")
	}
	need := preStop + drain + shutdown + graceMargin
	if got := time.Duration(*grace) * time.Second; got < need {
		t.Errorf("terminationGracePeriodSeconds %v < preStop %v + SHUTDOWN_DRAIN %v + SHUTDOWN_TIMEOUT %v + margin %v",
			got, preStop, drain, shutdown, graceMargin)
	}

	// Selector and labels.
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Deployment selector %v does not select its pods (%v)", dep.Spec.Selector, err)
	}
}

// TestService: port 80 reaches the server's 8080, and only the server's pods.
func TestService(t *testing.T) {
	b := loadBase(t)
	dep := only[*appsv1.Deployment](t, b)
	svc := only[*corev1.Service](t, b)
	c := serverContainer(t, dep)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 {
		t.Fatalf("Service ports %v, want one, port 80", svc.Spec.Ports)
	}
	tp := svc.Spec.Ports[0].TargetPort
	if n, ok := containerPort(c, tp); !ok || n != 8080 {
		t.Errorf("Service targetPort %s does not resolve to container port 8080", tp.String())
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	if len(svc.Spec.Selector) == 0 || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the server pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	for _, pt := range podTemplates(b) {
		if pt.tmpl != nil && pt.tmpl != &dep.Spec.Template && sel.Matches(labels.Set(pt.tmpl.Labels)) {
			t.Errorf("Service selector %v also selects %s", svc.Spec.Selector, pt.owner)
		}
	}
}

// TestJobs: the migration Job and the two CronJobs run the right subcommands,
// and a CronJob never starts a run while the previous one is going.
func TestJobs(t *testing.T) {
	b := loadBase(t)
	job := only[*batchv1.Job](t, b)
	if c := job.Spec.Template.Spec.Containers; len(c) != 1 || !slices.Equal(c[0].Args, []string{"migrate"}) {
		t.Errorf("Job %s: want one container with args [migrate]", job.Name)
	}
	if rp := job.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		t.Errorf("Job %s: restartPolicy %q", job.Name, rp)
	}

	want := map[string][]string{"payouts run": {"payouts", "run"}, "reconcile": {"reconcile"}}
	for _, cj := range all[*batchv1.CronJob](b) {
		if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("CronJob %s: concurrencyPolicy %q, want Forbid", cj.Name, cj.Spec.ConcurrencyPolicy)
		}
		if strings.TrimSpace(cj.Spec.Schedule) == "" {
			t.Errorf("CronJob %s: no schedule", cj.Name)
		}
		spec := cj.Spec.JobTemplate.Spec.Template.Spec
		if rp := spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
			t.Errorf("CronJob %s: restartPolicy %q", cj.Name, rp)
		}
		if len(spec.Containers) != 1 {
			t.Errorf("CronJob %s: %d containers, want 1", cj.Name, len(spec.Containers))
			continue
		}
		args := spec.Containers[0].Args
		for name, prefix := range want {
			if len(args) >= len(prefix) && slices.Equal(args[:len(prefix)], prefix) {
				delete(want, name)
			}
		}
	}
	for name := range want {
		t.Errorf("no CronJob runs referral-api %s", name)
	}
}

// TestAvailability: the autoscaler targets the Deployment with CPU and keeps
// more replicas than the disruption budget must leave, so drains can proceed.
func TestAvailability(t *testing.T) {
	b := loadBase(t)
	dep := only[*appsv1.Deployment](t, b)
	hpa := only[*autoscalingv2.HorizontalPodAutoscaler](t, b)
	pdb := only[*policyv1.PodDisruptionBudget](t, b)

	ref := hpa.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.Name != dep.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA scaleTargetRef %+v, want apps/v1 Deployment %s", ref, dep.Name)
	}
	var cpu bool
	for _, m := range hpa.Spec.Metrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
			cpu = true
		}
	}
	if !cpu {
		t.Error("HPA: want a CPU utilization metric")
	}
	if hpa.Spec.MinReplicas == nil {
		t.Fatal("HPA minReplicas not set")
	}
	minReplicas := *hpa.Spec.MinReplicas
	if hpa.Spec.MaxReplicas < minReplicas {
		t.Errorf("HPA maxReplicas %d < minReplicas %d", hpa.Spec.MaxReplicas, minReplicas)
	}
	if dep.Spec.Replicas != nil && *dep.Spec.Replicas < minReplicas {
		t.Errorf("Deployment replicas %d below HPA minReplicas %d", *dep.Spec.Replicas, minReplicas)
	}

	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.Type != intstr.Int || pdb.Spec.MaxUnavailable != nil {
		t.Fatalf("PDB: want minAvailable as a number (and no maxUnavailable)")
	}
	minAvailable := pdb.Spec.MinAvailable.IntVal
	if minAvailable < 1 {
		t.Errorf("PDB minAvailable %d, want at least 1", minAvailable)
	}
	if minReplicas <= minAvailable {
		t.Errorf("HPA minReplicas %d must exceed PDB minAvailable %d, or no pod can ever be evicted", minReplicas, minAvailable)
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("PDB selector %v does not select the server pods (%v)", pdb.Spec.Selector, err)
	}
	for _, pt := range podTemplates(b) {
		if pt.tmpl != nil && pt.tmpl != &dep.Spec.Template && sel.Matches(labels.Set(pt.tmpl.Labels)) {
			t.Errorf("PDB selector also selects %s", pt.owner)
		}
	}
}

// TestUniqueNames: two objects of one kind and name would overwrite each other.
func TestUniqueNames(t *testing.T) {
	b := loadBase(t)
	seen := map[string]string{}
	for _, d := range b.docs {
		m, err := metaOf(d.obj)
		if err != nil {
			t.Error(err)
			continue
		}
		if m.GetName() == "" {
			t.Errorf("%s: no name", d.file)
		}
		if m.GetNamespace() != "" {
			t.Errorf("%s: namespace %q set in the base; set it in kustomization or an overlay", d, m.GetNamespace())
		}
		key := d.obj.GetObjectKind().GroupVersionKind().Kind + "/" + m.GetName()
		if prev, ok := seen[key]; ok {
			t.Errorf("%s defined in %s and %s", key, prev, d.file)
		}
		seen[key] = d.file
	}
}

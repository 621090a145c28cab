package kube_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/kube/kubetest"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

// objects splits a YAML stream into Kubernetes objects, in the namespace when one is given.
func objects(t *testing.T, ns string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if ns != "" {
			u.SetNamespace(ns)
		}
		out = append(out, u)
	}
}

// apply applies an object as `kubectl apply --server-side` does (strict field validation;
// no resourceVersion, so the status writer's writes meanwhile do not conflict).
func (e *env) apply(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvr := kube.GVR(crd.Kind(u.GetKind()))
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	return e.dc.Resource(gvr).Namespace(u.GetNamespace()).Patch(ctx, u.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: "kubectl", Force: ptr.To(true), FieldValidation: "Strict"})
}

// Every example resource applies through the API server and its webhook, in the order a
// user applies them (Services first); the WasmPlugin names its module by sha256, as `wasmesh
// apply` fills it in after uploading the file (Kubernetes mode uploads nothing).
func TestApplyExamples(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ns := e.namespace(t, "examples")
	dir := filepath.Join(envoybin.RepoRoot(), "examples", "crds")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	// services.yaml first: the other resources refer to its Services.
	for i, f := range files {
		if filepath.Base(f) == "services.yaml" {
			files[0], files[i] = files[i], files[0]
		}
	}
	wasm, err := os.ReadFile(filepath.Join(envoybin.RepoRoot(), "build", "apikey.wasm"))
	require.NoError(t, err, "make build builds examples/filters/apikey")
	sum := sha256.Sum256(wasm)
	applied := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, u := range objects(t, ns, data) {
			if u.GetKind() == string(crd.KindWasmPlugin) && u.Object["spec"].(map[string]any)["module"].(map[string]any)["file"] != nil {
				require.NoError(t, unstructured.SetNestedStringMap(u.Object, map[string]string{"sha256": hex.EncodeToString(sum[:])}, "spec", "module"))
			}
			_, err := e.apply(ctx, u)
			require.NoError(t, err, "%s: %s %s", filepath.Base(f), u.GetKind(), u.GetName())
			applied++
		}
	}
	require.GreaterOrEqual(t, applied, 6, "every example of examples/crds")
	// The control plane serves them all.
	require.NoError(t, e2e.WaitFor(kubetest.StartTimeout, func() error {
		n := 0
		for _, o := range e.webhook.Source.Set().Objects() {
			if o.Meta().Namespace == ns {
				n++
			}
		}
		if n != applied {
			return errors.New("not every example in the source's set yet")
		}
		return nil
	}))
}

// Bad resources are refused at apply by the webhook with the messages `wasmesh apply` gives:
// each field error of the local validation (crd.Decode + admission against the same
// resources) appears in the API server's refusal. A delete that would break a reference is
// refused too, and a typo in a field name is refused by the API server's strict field
// validation (the schema prunes nothing silently).
func TestWebhookRefusesBadResources(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ns := e.namespace(t, "refusals")
	svc := `apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  versions:
  - {name: v1, endpoints: ["127.0.0.1:15101"]}
  - {name: v2, endpoints: ["127.0.0.1:15102"]}
---
apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split: {weights: {v1: 90, v2: 10}}
`
	for _, u := range objects(t, ns, []byte(svc)) {
		_, err := e.apply(ctx, u)
		require.NoError(t, err)
	}
	// The local validation below runs against the control plane's set: wait for it.
	require.NoError(t, e2e.WaitFor(kubetest.StartTimeout, func() error {
		if e.webhook.Source.Set().Service(ns, "reviews") == nil || len(e.webhook.Source.Set().TrafficRoutes) == 0 {
			return errors.New("reviews not in the source's set yet")
		}
		return nil
	}))
	tests := []struct {
		name, yaml string
		// apiServer is the API server's own message, for what the schema refuses first.
		apiServer string
	}{
		{name: "weights do not sum to 100", yaml: `apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split: {weights: {v1: 90, v2: 20}}
`},
		{name: "unknown version", yaml: `apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split: {weights: {v1: 50, v9: 50}}
`},
		{name: "missing service", yaml: `apiVersion: wasmesh.io/v1alpha1
kind: FaultInjection
metadata: {name: nothere}
spec:
  service: nothere
  rules: [{name: slow, delay: {fixed: 1s, percentage: 10}}]
`},
		{name: "bad regex and duration", yaml: `apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  timeout: 2 seconds
  rules:
  - name: r
    match: {path: {regex: "(unclosed"}}
    destination: {version: v2}
`},
		{name: "typo in a field name", yaml: `apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  splt: {weights: {v1: 100}}
`, apiServer: `.spec.splt: field not declared in schema`},
		{name: "port out of range", yaml: `apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: other}
spec:
  port: 70000
  versions: [{name: v1, endpoints: ["127.0.0.1:1"]}]
`, apiServer: "spec.port: Invalid value: 70000: spec.port in body should be less than or equal to 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := objects(t, ns, []byte(tt.yaml))[0]
			before, _ := e.dc.Resource(kube.GVR(crd.Kind(u.GetKind()))).Namespace(ns).Get(ctx, u.GetName(), metav1.GetOptions{})
			_, err := e.apply(ctx, u)
			require.Error(t, err)
			if tt.apiServer != "" {
				require.Contains(t, err.Error(), tt.apiServer)
			} else {
				require.Contains(t, err.Error(), `admission webhook "validate.wasmesh.io" denied the request`)
				want := localFieldErrors(t, ns, e.webhook.Source.Set(), tt.yaml)
				require.NotEmpty(t, want)
				for _, w := range want {
					require.Contains(t, err.Error(), w)
				}
			}
			// Bad input changes nothing (the status writer may have written the status
			// meanwhile: spec and generation are what an apply changes).
			after, _ := e.dc.Resource(kube.GVR(crd.Kind(u.GetKind()))).Namespace(ns).Get(ctx, u.GetName(), metav1.GetOptions{})
			if before == nil {
				require.Nil(t, after)
			} else {
				require.Equal(t, before.GetGeneration(), after.GetGeneration())
				require.Equal(t, before.Object["spec"], after.Object["spec"])
			}
		})
	}
	t.Run("delete a Service still referenced", func(t *testing.T) {
		err := e.dc.Resource(kube.GVR(crd.KindService)).Namespace(ns).Delete(ctx, "reviews", metav1.DeleteOptions{})
		require.Error(t, err)
		require.Contains(t, err.Error(), `Service "reviews" is still referenced by TrafficRoute "reviews"; delete or change them first`)
	})
}

// localFieldErrors returns what `wasmesh apply` reports for the YAML (decode, then the
// admission against the set), as field-path messages.
func localFieldErrors(t *testing.T, ns string, set *crd.Set, doc string) []string {
	t.Helper()
	docs, err := crd.Decode("local.yaml", []byte(doc))
	if err == nil {
		docs[0].Object.Meta().Namespace = ns
		err = admission.New(admission.Config{}).Check(context.Background(), admission.Inputs(docs...), set)
	}
	require.Error(t, err)
	var out []string
	for _, e := range crd.Leaves(err) {
		var fe *crd.FieldError
		if errors.As(e, &fe) {
			out = append(out, fe.Error())
		}
	}
	return out
}

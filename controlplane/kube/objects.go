package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// GVR returns the API resource of a kind (wasmesh.io/v1alpha1, Plural).
func GVR(k crd.Kind) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: Group, Version: Version, Resource: Plural(k)}
}

// document renders a Kubernetes object as the YAML document `wasmesh apply` would read:
// apiVersion, kind, the metadata a user writes (name, namespace, labels) and the spec. The
// API server's own metadata (uid, managedFields, annotations, ...) and the status are left
// out.
func document(obj map[string]any) ([]byte, error) {
	doc := map[string]any{}
	for _, k := range []string{"apiVersion", "kind", "spec"} {
		if v, ok := obj[k]; ok {
			doc[k] = v
		}
	}
	meta := map[string]any{}
	if m, ok := obj["metadata"].(map[string]any); ok {
		for _, k := range []string{"name", "namespace", "labels"} {
			if v, ok := m[k]; ok {
				meta[k] = v
			}
		}
	}
	doc["metadata"] = meta
	return yaml.Marshal(doc)
}

// decodeObject decodes a Kubernetes object into a wasmesh resource with the same strict
// decoding and structure validation as `wasmesh apply` (crd.Decode), its document named
// after the object (`TrafficRoute "reviews"`). Generation and resourceVersion come from the
// object's metadata; the status is left empty.
func decodeObject(obj map[string]any) (crd.Document, error) {
	u := unstructured.Unstructured{Object: obj}
	data, err := document(obj)
	if err != nil {
		return crd.Document{}, err
	}
	source := fmt.Sprintf("%s %q", u.GetKind(), u.GetName())
	docs, err := crd.Decode(source, data)
	if err != nil {
		// The document is the server's rendering, not the user's file: no index or line
		// to point at, the source names the object.
		for _, e := range crd.Leaves(err) {
			var de *crd.DocError
			if errors.As(e, &de) {
				de.Index, de.Line = 0, 0
			}
		}
		return crd.Document{}, err
	}
	if len(docs) != 1 {
		return crd.Document{}, fmt.Errorf("%s: not one resource", source)
	}
	d := docs[0]
	d.Index, d.Line, d.Lines = 0, 0, nil
	m := d.Object.Meta()
	m.Generation = u.GetGeneration()
	if rv, err := strconv.ParseUint(u.GetResourceVersion(), 10, 64); err == nil {
		m.ResourceVersion = rv
	}
	if m.Namespace == "" {
		m.Namespace = u.GetNamespace()
	}
	return d, nil
}

// statusPatch is the merge patch writing a resource's status; nodes is always written (an
// empty list when no sidecar carries the resource), so that a merge patch clears the nodes
// that left.
func statusPatch(st crd.Status) ([]byte, error) {
	nodes := st.Nodes
	if nodes == nil {
		nodes = []crd.NodeStatus{}
	}
	return json.Marshal(map[string]any{"status": map[string]any{"observedGeneration": st.ObservedGeneration, "nodes": nodes}})
}

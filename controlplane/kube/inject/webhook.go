package inject

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/wasmesh/wasmesh/controlplane/kube"
)

// Path is the URL path of the mutating webhook.
const Path = "/inject"

// Webhook is the mutating admission webhook: for a pod Wanted says to inject, it answers
// with the JSON patch that turns the pod into Config.Inject's.
type Webhook struct {
	Config Config
	// NamespaceLabels returns the labels of a namespace (for the namespace opt-in).
	NamespaceLabels func(ctx context.Context, namespace string) (map[string]string, error)
	Log             *slog.Logger
}

// Patch returns the JSON patch injecting the pod, or nil when it is not to be injected.
func (w *Webhook) Patch(ctx context.Context, req *admissionv1.AdmissionRequest) ([]byte, error) {
	if req.Operation != admissionv1.Create || req.Kind.Kind != "Pod" || req.SubResource != "" {
		return nil, nil
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return nil, fmt.Errorf("decode pod: %w", err)
	}
	var nsLabels map[string]string
	if w.NamespaceLabels != nil {
		l, err := w.NamespaceLabels(ctx, req.Namespace)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", req.Namespace, err)
		}
		nsLabels = l
	}
	if !Wanted(&pod, nsLabels) {
		return nil, nil
	}
	out, err := w.Config.Inject(&pod, req.Namespace)
	if err != nil {
		return nil, err
	}
	ops := []map[string]any{
		{"op": "add", "path": "/metadata/name", "value": out.Name},
		{"op": "add", "path": "/metadata/annotations", "value": out.Annotations},
		{"op": "replace", "path": "/spec", "value": out.Spec},
	}
	return json.Marshal(ops)
}

// ServeHTTP implements the webhook endpoint. A pod the injector cannot inject (no port to
// forward to) is refused with the reason, not let through without its sidecar.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	kube.ServeReview(rw, r, func(ctx context.Context, req *admissionv1.AdmissionRequest) ([]byte, error) {
		patch, err := w.Patch(ctx, req)
		if err != nil {
			if w.Log != nil {
				w.Log.Info("injection refused", "namespace", req.Namespace, "err", err)
			}
			return nil, fmt.Errorf("wasmesh sidecar injection: %w", err)
		}
		return patch, nil
	})
}

package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// ValidatePath is the URL path of the validating webhook (Webhook.ServeHTTP).
const ValidatePath = "/validate"

// Admission runs the admission of `wasmesh apply` (controlplane/admission) on a resource
// written through the API server, against the resources the control plane knows: the object
// is decoded strictly (crd.Decode), then goes through the pipeline's stages (structure,
// references, the built-in filters' own config parsers, module, dry run). A delete is
// refused when a resource still refers to the deleted one. Messages name the field path, as
// `wasmesh apply` does: `TrafficRoute "reviews": spec.split.weights: ...`.
type Admission struct {
	// Current returns the resources the control plane serves now (Source.Set); Fresh, when
	// set, reads them from the API server (Source.Fresh), for a second opinion before a
	// refusal: the cache may not have seen a resource applied a moment before.
	Current func() *crd.Set
	Fresh   func(ctx context.Context) (*crd.Set, error)
	// Pipeline is the admission (one without a store: the API server commits; nil: one with
	// no filter, module or dry run stage).
	Pipeline *admission.Pipeline
	Log      *slog.Logger
}

// Validate checks one admission request and returns nil to allow it.
func (a *Admission) Validate(ctx context.Context, req *admissionv1.AdmissionRequest) error {
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
		var obj map[string]any
		if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
			return fmt.Errorf("decode object: %w", err)
		}
		if req.SubResource != "" { // status writes are the control plane's
			return nil
		}
		doc, err := decodeObject(obj)
		if err != nil {
			return err
		}
		if doc.Object.Meta().Namespace == "" {
			doc.Object.Meta().Namespace = req.Namespace
		}
		return a.againstFresh(ctx, func(set *crd.Set) error {
			return a.pipeline().Check(ctx, []admission.Input{{Document: doc}}, set)
		})
	case admissionv1.Delete:
		key := crd.Key{Kind: crd.Kind(req.Kind.Kind), Namespace: req.Namespace, Name: req.Name}
		return a.againstFresh(ctx, func(set *crd.Set) error { return a.pipeline().CheckDelete(set, key) })
	}
	return nil
}

func (a *Admission) pipeline() *admission.Pipeline {
	if a.Pipeline == nil {
		return admission.New(admission.Config{})
	}
	return a.Pipeline
}

// againstFresh runs check on the cached set and, when it refuses, on a fresh one.
func (a *Admission) againstFresh(ctx context.Context, check func(*crd.Set) error) error {
	err := check(a.Current())
	if err == nil || a.Fresh == nil {
		return err
	}
	set, ferr := a.Fresh(ctx)
	if ferr != nil {
		return errors.Join(err, fmt.Errorf("(checking against the API server: %w)", ferr))
	}
	return check(set)
}

// ServeHTTP implements the webhook endpoint: an AdmissionReview in, the same review with
// its response out (allowed, or refused with Validate's message and HTTP 422 in the status).
func (a *Admission) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ServeReview(w, r, func(ctx context.Context, req *admissionv1.AdmissionRequest) ([]byte, error) {
		err := a.Validate(ctx, req)
		if err != nil && a.Log != nil {
			a.Log.Info("admission refused", "kind", req.Kind.Kind, "namespace", req.Namespace,
				"name", req.Name, "operation", req.Operation, "err", err)
		}
		return nil, err
	})
}

// ServeReview serves an admission webhook: it reads the AdmissionReview (400 when the body
// is none), asks decide about its request and answers with the same review carrying the
// response: allowed, with decide's JSON patch when it returns one, or refused with decide's
// error as the message and HTTP 422 in the status.
func ServeReview(w http.ResponseWriter, r *http.Request, decide func(ctx context.Context, req *admissionv1.AdmissionRequest) (patch []byte, err error)) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, fmt.Sprintf("not an AdmissionReview: %v", err), http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	patch, err := decide(r.Context(), review.Request)
	switch {
	case err != nil:
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusUnprocessableEntity,
			Reason: metav1.StatusReasonInvalid, Message: err.Error(),
		}
	case patch != nil:
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
	}
	review.Request, review.Response = nil, resp
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&review)
}

// ModuleChecker refuses a WasmPlugin whose module the control plane does not serve. In
// Kubernetes mode nothing uploads a module file: a plugin names the sha256 of a module the
// control plane has (a built-in one, or one uploaded to it), which `wasmesh apply` would
// otherwise fill in.
func ModuleChecker(has func(sha256 string) bool) crd.Checker {
	return crd.CheckerFunc(func(_ context.Context, set *crd.Set, changed []crd.Key) error {
		var errs []error
		for _, p := range set.WasmPlugins {
			key := crd.KeyOf(p)
			if !slices.Contains(changed, key) {
				continue
			}
			m := p.Spec.Module
			fail := func(path string, err error) {
				errs = append(errs, &crd.ObjectError{Key: key, Err: &crd.FieldError{Path: path, Err: err}})
			}
			switch {
			case m.SHA256 == "" && m.File != "":
				fail("spec.module.sha256", fmt.Errorf("required in Kubernetes mode: nothing uploads the module file %s there; give the sha256 of a module the control plane serves (sha256sum %s)", m.File, m.File))
			case m.SHA256 == "":
				fail("spec.module.sha256", errors.New("required in Kubernetes mode (the sha256 of a module the control plane serves)"))
			case !has(m.SHA256):
				fail("spec.module.sha256", fmt.Errorf("module %s is not on the control plane (built-in modules and uploaded ones are; docs/kubernetes.md)", m.SHA256))
			}
		}
		return errors.Join(errs...)
	})
}

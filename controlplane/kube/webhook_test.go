package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

func review(t *testing.T, op admissionv1.Operation, kind, name string, obj map[string]any) []byte {
	t.Helper()
	req := &admissionv1.AdmissionRequest{UID: "u1", Operation: op, Namespace: "shop", Name: name,
		Kind: metav1.GroupVersionKind{Group: Group, Version: Version, Kind: kind}}
	if obj != nil {
		raw, err := json.Marshal(obj)
		require.NoError(t, err)
		req.Object = runtime.RawExtension{Raw: raw}
	}
	b, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	require.NoError(t, err)
	return b
}

// The webhook answers an AdmissionReview: allowed, or refused with the field-path message of
// `wasmesh apply` (references checked against the control plane's set; the fresh set is
// consulted before a refusal).
func TestAdmissionWebhook(t *testing.T) {
	set, _ := assemble(testInputs(nil))
	fresh := 0
	a := &Admission{Current: func() *crd.Set { return set }, Fresh: func(context.Context) (*crd.Set, error) { fresh++; return set, nil }}
	route := func(weights map[string]any) map[string]any {
		return cr(crd.KindTrafficRoute, "reviews", 1, map[string]any{"service": "reviews", "split": map[string]any{"weights": weights}}).Object
	}
	tests := []struct {
		name    string
		body    []byte
		allowed bool
		message string
	}{
		{"valid", review(t, admissionv1.Create, "TrafficRoute", "reviews", route(map[string]any{"v1": 90, "v2": 10})), true, ""},
		{"weights", review(t, admissionv1.Create, "TrafficRoute", "reviews", route(map[string]any{"v1": 90, "v2": 20})), false,
			`TrafficRoute "reviews": spec.split.weights: weights sum to 110, want 100`},
		{"unknown version", review(t, admissionv1.Update, "TrafficRoute", "reviews", route(map[string]any{"v1": 50, "v9": 50})), false,
			`TrafficRoute "reviews": spec.split.weights.v9: version "v9" is not defined on Service "reviews"`},
		{"delete", review(t, admissionv1.Delete, "Service", "ratings", nil), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			a.ServeHTTP(w, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(tt.body)))
			require.Equal(t, http.StatusOK, w.Code)
			var got admissionv1.AdmissionReview
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			require.Equal(t, "u1", string(got.Response.UID))
			require.Equal(t, tt.allowed, got.Response.Allowed, "%+v", got.Response.Result)
			if !tt.allowed {
				require.Equal(t, tt.message, got.Response.Result.Message)
				require.Equal(t, int32(http.StatusUnprocessableEntity), got.Response.Result.Code)
			}
		})
	}
	require.Equal(t, 1, fresh, "a refusal by the references consults the fresh set (structure errors need not)")
}

package authz_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/filters/authz"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// TestAuthzWasm runs the compiled filter (standalone and bundle) in the ratings sidecar: the
// caller's identity comes from the connection (connection.mtls, uri_san_peer_certificate).
func TestAuthzWasm(t *testing.T) {
	cfg, err := os.ReadFile("testdata/ratings.json")
	require.NoError(t, err)
	mtls := func(id string) *testenv.Connection { return &testenv.Connection{MTLS: true, PeerURISAN: id} }
	const reviews = "spiffe://wasmesh.local/ns/default/sa/reviews"
	metric := func(policy, decision string) string {
		return "wasmesh_authz_requests_total;service=ratings;policy=" + policy + ";decision=" + decision
	}
	tests := []struct {
		name       string
		req        testenv.Request
		wantStatus int
		wantBody   string
		metric     string
	}{
		{name: "reviews allowed", req: testenv.Request{Authority: "ratings", Connection: mtls(reviews)}, wantStatus: 200,
			metric: metric("default/ratings-callers", "allow")},
		{name: "frontend denied", req: testenv.Request{Authority: "ratings", Connection: mtls("spiffe://wasmesh.local/ns/default/sa/frontend")}, wantStatus: 403,
			wantBody: "RBAC: access denied: spiffe://wasmesh.local/ns/default/sa/frontend by AuthorizationPolicy default/ratings-callers\n",
			metric:   metric("default/ratings-callers", "deny")},
		{name: "plaintext denied", req: testenv.Request{Authority: "ratings"}, wantStatus: 403,
			wantBody: "RBAC: access denied: a caller without a mesh certificate by AuthorizationPolicy default/ratings-callers\n",
			metric:   metric("default/ratings-callers", "deny")},
		{name: "DENY beats ALLOW", req: testenv.Request{Method: "DELETE", Authority: "ratings", Connection: mtls(reviews)}, wantStatus: 403,
			wantBody: "RBAC: access denied: " + reviews + " by AuthorizationPolicy default/no-delete\n",
			metric:   metric("default/no-delete", "deny")},
	}
	for _, v := range filtertest.Variants(t, authz.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					env := testenvtest.New(t, []testenv.Filter{v.Filter(string(cfg))}, testenv.WithNodeMetadata(map[string]string{"service": "ratings", "version": "v1"}))
					res := env.Do(tt.req)
					require.NoError(t, res.Err)
					require.Equal(t, tt.wantStatus, res.Response.Status)
					require.Equal(t, tt.wantStatus == 200, res.Upstream != nil, "reached the app")
					if tt.wantBody != "" {
						require.Equal(t, tt.wantBody, string(res.Response.Body))
					}
					require.Equal(t, 1.0, env.Metrics()[tt.metric], "%v", env.Metrics())
				})
			}
		})
	}
}

package authz

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/sdk"
)

func TestDecide(t *testing.T) {
	data, err := os.ReadFile("testdata/ratings.json")
	require.NoError(t, err)
	f, err := Parse(data)
	require.NoError(t, err)
	peer := func(id string) sdk.Connection { return sdk.Connection{MTLS: true, PeerURISAN: id} }
	const reviews, frontend, ops = "spiffe://wasmesh.local/ns/default/sa/reviews", "spiffe://wasmesh.local/ns/default/sa/frontend", "spiffe://wasmesh.local/ns/ops/sa/debug"
	tests := []struct {
		name    string
		service string
		method  string
		conn    sdk.Connection
		want    Verdict
	}{
		{"allowed caller", "ratings", "GET", peer(reviews), Verdict{Allowed: true, Policy: "default/ratings-callers"}},
		{"namespace prefix", "ratings", "GET", peer(ops), Verdict{Allowed: true, Policy: "default/ratings-callers"}},
		{"other caller", "ratings", "GET", peer(frontend), Verdict{Policy: "default/ratings-callers"}},
		{"plaintext caller", "ratings", "GET", sdk.Connection{}, Verdict{Policy: "default/ratings-callers"}},
		{"a URI SAN without mTLS counts for nothing", "ratings", "GET", sdk.Connection{PeerURISAN: reviews}, Verdict{Policy: "default/ratings-callers"}},
		{"DENY beats ALLOW", "ratings", "DELETE", peer(reviews), Verdict{Policy: "default/no-delete"}},
		{"DENY only: the rest allowed", "reviews", "GET", peer(frontend), Verdict{Allowed: true}},
		{"DENY only: denied", "reviews", "DELETE", sdk.Connection{}, Verdict{Policy: "default/no-delete"}},
		{"no policy", "frontend", "DELETE", sdk.Connection{}, Verdict{Allowed: true}},
		{"Service not in the map", "other", "DELETE", sdk.Connection{}, Verdict{Allowed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.SetNode(tt.service, "v1")
			require.Equal(t, tt.want, f.Decide(&sdk.Request{Method: tt.method, Path: "/", Connection: tt.conn}))
		})
	}
}

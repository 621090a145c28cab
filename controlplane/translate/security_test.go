package translate

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/ir"
)

// TestIdentitySecretsGolden: a node's SDS secrets (testdata/secrets.out.yaml).
func TestIdentitySecretsGolden(t *testing.T) {
	var items []any
	for _, s := range IdentitySecrets([]byte("-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n"),
		[]byte("-----BEGIN EC PRIVATE KEY-----\nkey\n-----END EC PRIVATE KEY-----\n"),
		[]byte("-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n")) {
		items = append(items, protoToAny(t, s))
	}
	b, err := json.Marshal(map[string]any{"secrets": items})
	require.NoError(t, err)
	got, err := yaml.JSONToYAML(b)
	require.NoError(t, err)
	const path = "testdata/secrets.out.yaml"
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestAuthzConfigWithoutPolicies(t *testing.T) {
	tc := loadCase(t, []byte("apiVersion: wasmesh.io/v1alpha1\nkind: Service\nmetadata: {name: a}\nspec: {port: 1, versions: [{name: v1, endpoints: [\"h:1\"]}]}\n"))
	policies, err := ir.Build(tc.set, ir.Options{TrustDomain: tc.opts.trustDomain()})
	require.NoError(t, err)
	b, err := policies.AuthzConfig()
	require.NoError(t, err)
	require.JSONEq(t, `{"services":{"a":{}}}`, string(b), "a Service no policy selects allows everything")
}

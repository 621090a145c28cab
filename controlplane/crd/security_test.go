package crd

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeSecurity(t *testing.T) {
	data, err := os.ReadFile("testdata/security.yaml")
	require.NoError(t, err)
	docs, err := Decode("security.yaml", data)
	require.NoError(t, err)
	require.Len(t, docs, 5)
	set := NewSet()
	for _, d := range docs {
		set = NewSet(append(set.Objects(), d.Object)...)
	}
	require.NoError(t, References(set))
	require.Equal(t, ModePermissive, set.TransportMode("ratings"), "a TransportPolicy naming the Service wins")
	require.Equal(t, ModeStrict, set.TransportMode("reviews"), "the mesh-wide default")
	require.Equal(t, ModeDisable, NewSet().TransportMode("reviews"), "no TransportPolicy: plaintext")
	ap := set.AuthorizationPolicies[1]
	require.Equal(t, "ratings-callers", ap.Metadata.Name)
	require.Equal(t, Caller{SPIFFEID: "spiffe://wasmesh.local/ns/default/sa/admin"}, ap.Spec.Rules[0].From[2])
	for _, k := range []string{"tp", "TransportPolicies", "authz", "authorizationpolicy"} {
		_, err := ParseKind(k)
		require.NoError(t, err, k)
	}
}

func TestSecurityValidation(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "unknown field", doc: "kind: TransportPolicy\nmetadata: {name: m}\nspec: {mode: STRICT, mtls: true}\n",
			want: []string{`s.yaml:4: document 1 (TransportPolicy "m"): spec.mtls: unknown field (known: services, mode)`},
		},
		{
			name: "mode", doc: "kind: TransportPolicy\nmetadata: {name: m}\nspec: {mode: strict, services: [a, a]}\n",
			want: []string{
				`s.yaml:4: document 1 (TransportPolicy "m"): spec.services[1]: service "a" is listed twice`,
				`s.yaml:4: document 1 (TransportPolicy "m"): spec.mode: "strict" must be STRICT, PERMISSIVE or DISABLE (did you mean STRICT?)`,
			},
		},
		{
			name: "mode required", doc: "kind: TransportPolicy\nmetadata: {name: m}\nspec: {}\n",
			want: []string{`s.yaml:4: document 1 (TransportPolicy "m"): spec.mode: required: STRICT, PERMISSIVE or DISABLE`},
		},
		{
			name: "authorization", doc: `kind: AuthorizationPolicy
metadata: {name: a}
spec:
  action: allow
  rules:
  - from: [{}, {spiffeID: "http://x"}, {service: Bad_Name}, {service: x, spiffeID: "spiffe://td/a"}]
    match: {path: {regex: "("}}
`,
			want: []string{
				`s.yaml:5: document 1 (AuthorizationPolicy "a"): spec.action: "allow" must be ALLOW or DENY`,
				`s.yaml:7: document 1 (AuthorizationPolicy "a"): spec.rules[0].from[0]: one of service, namespace, spiffeID is required`,
				`s.yaml:7: document 1 (AuthorizationPolicy "a"): spec.rules[0].from[1].spiffeID: "http://x" is not a SPIFFE ID such as spiffe://wasmesh.local/ns/default/sa/reviews`,
				`s.yaml:7: document 1 (AuthorizationPolicy "a"): spec.rules[0].from[2].service: "Bad_Name" must consist of lowercase letters, digits and '-', and start and end with a letter or digit`,
				`s.yaml:7: document 1 (AuthorizationPolicy "a"): spec.rules[0].from[3]: spiffeID names the caller whole: drop service and namespace`,
				`s.yaml:8: document 1 (AuthorizationPolicy "a"): spec.rules[0].match.path.regex: invalid regex "(": missing closing )`,
			},
		},
		{
			name: "rules required", doc: "kind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {action: DENY}\n",
			want: []string{`s.yaml:4: document 1 (AuthorizationPolicy "a"): spec.rules: at least one rule is required (a rule with neither from nor match matches every request)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("s.yaml", []byte(head+tt.doc))
			require.Error(t, err)
			require.Equal(t, tt.want, strings.Split(err.Error(), "\n"))
		})
	}
}

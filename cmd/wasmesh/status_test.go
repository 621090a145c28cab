package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/api"
)

func TestPrintIdentities(t *testing.T) {
	exp := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	rot := exp.Add(-12 * time.Hour)
	var b bytes.Buffer
	printIdentities(&b, []api.SidecarStatus{
		{ID: "frontend.v1.0", Identity: "spiffe://wasmesh.local/ns/default/sa/frontend", CertExpiry: &exp, CertRotate: &rot, InboundMode: "PERMISSIVE"},
		{ID: "x.v1.0", InboundMode: "DISABLE"},
	})
	require.Equal(t, `
Identity (mTLS certificates issued by the control plane's CA, served over SDS):
NODE           IDENTITY                                       CERT EXPIRES          ROTATES               INBOUND
frontend.v1.0  spiffe://wasmesh.local/ns/default/sa/frontend  2026-11-28T13:00:00Z  2026-11-28T01:00:00Z  PERMISSIVE
x.v1.0         -                                              -                     -                     DISABLE
`, b.String())
	b.Reset()
	printIdentities(&b, []api.SidecarStatus{{ID: "a"}})
	require.Empty(t, b.String(), "no identity, no section")
}

func TestGetSecurityPolicies(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	code, out, errOut := c.run("apply", "-f", write(t, dir, "sec.yaml", servicesYAML+`---
apiVersion: wasmesh.io/v1alpha1
kind: TransportPolicy
metadata: {name: mesh}
spec: {mode: STRICT}
---
apiVersion: wasmesh.io/v1alpha1
kind: TransportPolicy
metadata: {name: ratings}
spec: {mode: PERMISSIVE, services: [ratings]}
---
apiVersion: wasmesh.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: ratings-callers}
spec:
  services: [ratings]
  action: ALLOW
  rules: [{from: [{service: reviews}, {namespace: ops}]}, {from: [{spiffeID: "spiffe://wasmesh.local/ns/x/sa/y"}]}]
`))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "transportpolicy/mesh created\ntransportpolicy/ratings created\nauthorizationpolicy/ratings-callers created\n")
	code, out, _ = c.run("get", "tp")
	require.Equal(t, 0, code)
	require.Equal(t, `NAME     SERVICES  MODE        GEN  NODES
mesh     *         STRICT      1    -
ratings  ratings   PERMISSIVE  1    -
`, out)
	code, out, _ = c.run("get", "authz")
	require.Equal(t, 0, code)
	require.Equal(t, `NAME             SERVICES  ACTION  RULES  CALLERS                                         GEN  NODES
ratings-callers  ratings   ALLOW   2      reviews,ops/*,spiffe://wasmesh.local/ns/x/sa/y  1    -
`, out)
}

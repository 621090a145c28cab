package xds_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/xds"
	"github.com/wasmesh/wasmesh/controlplane/xds/xdstest"
)

var strict = &crd.TransportPolicy{Metadata: crd.ObjectMeta{Name: "mesh", Generation: 1}, Spec: crd.TransportPolicySpec{Mode: crd.ModeStrict}}

// secrets returns the client's SDS secrets by name, once it holds both.
func secrets(t testing.TB, c *xdstest.Client) map[string]*tlsv3.Secret {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Wait(ctx, func(c *xdstest.Client) bool { return len(c.State(resource.SecretType).Resources) == 2 }))
	out := map[string]*tlsv3.Secret{}
	for _, a := range c.State(resource.SecretType).Resources {
		var s tlsv3.Secret
		require.NoError(t, a.UnmarshalTo(&s))
		out[s.Name] = &s
	}
	return out
}

func leafOf(t testing.TB, s *tlsv3.Secret) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(s.GetTlsCertificate().GetCertificateChain().GetInlineBytes())
	require.NotNil(t, b)
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return c
}

// TestSecretsPerNode: each node is served its own Service's certificate and the CA bundle
// over SDS on its ADS stream, never another node's; a node whose metadata claims a Service
// its node id does not name gets no identity; status shows identity, expiry and mode.
func TestSecretsPerNode(t *testing.T) {
	authority, err := ca.Load(t.TempDir(), ca.Options{})
	require.NoError(t, err)
	srv, addr := startServer(t, func(c *xds.Config) { c.CA = authority })
	srv.Update(mesh(t, 90, 10, strict), 1)
	fe, rv := sidecar("frontend", "v1", 20100), sidecar("reviews", "v1", 20110)
	cf, cr := dial(t, addr, fe, nil), dial(t, addr, rv, nil)
	sf, sr := secrets(t, cf), secrets(t, cr)

	require.Equal(t, "spiffe://wasmesh.local/ns/default/sa/frontend", leafOf(t, sf[translate.SecretIdentity]).URIs[0].String())
	require.Equal(t, "spiffe://wasmesh.local/ns/default/sa/reviews", leafOf(t, sr[translate.SecretIdentity]).URIs[0].String())
	require.Equal(t, authority.BundlePEM(), sf[translate.SecretCA].GetValidationContext().GetTrustedCa().GetInlineBytes())
	require.NotEqual(t, sf[translate.SecretIdentity].GetTlsCertificate().GetPrivateKey().GetInlineBytes(),
		sr[translate.SecretIdentity].GetTlsCertificate().GetPrivateKey().GetInlineBytes(), "each node has its own key")

	// A credential for frontend.v1.9 whose metadata claims reviews: configuration yes, identity no.
	liar := sidecar("reviews", "v1", 20120)
	liar.ID = "frontend.v1.9"
	cl := dial(t, addr, liar, nil)
	waitComplete(t, cl)
	waitAcked(t, srv)
	require.Empty(t, cl.State(resource.SecretType).Resources, "no secret for a node claiming another Service")

	var seen int
	for _, n := range srv.Nodes() {
		switch n.ID {
		case fe.ID, rv.ID:
			seen++
			require.Equal(t, "spiffe://wasmesh.local/ns/default/sa/"+n.Service, n.Identity)
			require.Equal(t, crd.ModeStrict, n.InboundMode)
			require.NotNil(t, n.CertExpiry)
			require.WithinDuration(t, time.Now().Add(ca.DefaultTTL), *n.CertExpiry, time.Minute)
		case liar.ID:
			seen++
			require.Empty(t, n.Identity)
			require.Equal(t, `node id "frontend.v1.9" does not name Service "reviews" (node ids are <service>.<version>.<n>): no identity issued`, n.Error)
		}
	}
	require.Equal(t, 3, seen)
}

// TestSecretsRotate: with a short TTL the server pushes a new certificate before the old one
// expires, again and again, without the node asking.
func TestSecretsRotate(t *testing.T) {
	authority, err := ca.Load(t.TempDir(), ca.Options{TTL: 2 * time.Second})
	require.NoError(t, err)
	srv, addr := startServer(t, func(c *xds.Config) { c.CA = authority })
	srv.Update(mesh(t, 90, 10, strict), 1)
	c := dial(t, addr, sidecar("reviews", "v1", 20130), nil)
	serials := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(serials) < 3 && time.Now().Before(deadline) {
		leaf := leafOf(t, secrets(t, c)[translate.SecretIdentity])
		require.True(t, time.Now().Before(leaf.NotAfter), "a served certificate is never expired")
		serials[leaf.SerialNumber.String()] = true
		time.Sleep(100 * time.Millisecond)
	}
	require.Len(t, serials, 3, "two rotations within 30s at a 2s ttl")
}

package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGeneratedRootPersistsWith0600(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(dir, Options{})
	require.NoError(t, err)
	st, err := os.Stat(filepath.Join(dir, Dir, RootKeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	again, err := Load(dir, Options{})
	require.NoError(t, err)
	require.Equal(t, c.BundlePEM(), again.BundlePEM(), "the second start reuses the root")

	require.NoError(t, os.Chmod(filepath.Join(dir, Dir, RootKeyFile), 0o644))
	_, err = Load(dir, Options{})
	require.ErrorContains(t, err, "permissions -rw-r--r--, want 0600")
}

func TestIssueSPIFFELeaf(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := Load(t.TempDir(), Options{TrustDomain: "example.org", TTL: time.Hour, Now: func() time.Time { return now }})
	require.NoError(t, err)
	l, err := c.Issue("shop", "ratings")
	require.NoError(t, err)
	require.Equal(t, "spiffe://example.org/ns/shop/sa/ratings", l.SPIFFEID)
	cert := parse(t, l.CertPEM)
	require.Len(t, cert.URIs, 1)
	require.Equal(t, l.SPIFFEID, cert.URIs[0].String())
	require.Equal(t, now.Add(time.Hour), cert.NotAfter)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(c.BundlePEM()))
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)

	require.Equal(t, now.Add(30*time.Minute), c.RotateAt(l, 0), "half-life")
	require.Equal(t, now.Add(30*time.Minute-6*time.Minute), c.RotateAt(l, 1), "at most Jitter (10%) of the ttl earlier")
}

func TestOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		err  string
	}{
		{"trust domain", Options{TrustDomain: "Bad_Domain"}, `trust domain "Bad_Domain": lowercase letters, digits, '.' and '-' only`},
		{"ttl", Options{TTL: time.Millisecond}, "certificate ttl 1ms: at least 1s"},
		{"jitter", Options{Jitter: 0.7}, "rotation jitter 0.7: between 0 and 0.5 (a fraction of the ttl)"},
		{"cert without key", Options{CertFile: "x.pem"}, "ca: give both the certificate and the key file (--ca-cert, --ca-key)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(t.TempDir(), tt.opts)
			require.EqualError(t, err, tt.err)
		})
	}
}

// TestBringYourOwnIntermediate: leaves carry the intermediate and verify against the
// user's root bundle; an intermediate without a bundle is refused.
func TestBringYourOwnIntermediate(t *testing.T) {
	dir := t.TempDir()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "corp root"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootT, rootT, rootKey.Public(), rootKey)
	require.NoError(t, err)
	root, _ := x509.ParseCertificate(rootDER)
	intKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	intT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mesh intermediate"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(12 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	intDER, err := x509.CreateCertificate(rand.Reader, intT, root, intKey.Public(), rootKey)
	require.NoError(t, err)
	kder, _ := x509.MarshalECPrivateKey(intKey)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	certF := write("int.pem", pemCert(intDER))
	keyF := write("int-key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	bundleF := write("root.pem", pemCert(rootDER))

	_, err = Load(dir, Options{CertFile: certF, KeyFile: keyF})
	require.ErrorContains(t, err, "is an intermediate: give the roots it chains to as the bundle (--ca-bundle)")

	c, err := Load(dir, Options{CertFile: certF, KeyFile: keyF, BundleFile: bundleF, TTL: 48 * time.Hour})
	require.NoError(t, err)
	l, err := c.Issue("default", "reviews")
	require.NoError(t, err)
	leaf := parse(t, l.CertPEM)
	require.True(t, intT.NotAfter.Truncate(time.Second).Equal(leaf.NotAfter.Truncate(time.Second)), "a leaf never outlives its issuer")
	rest := l.CertPEM[len(pemCert(leaf.Raw)):]
	inter := x509.NewCertPool()
	require.True(t, inter.AppendCertsFromPEM(rest), "the leaf PEM carries the intermediate")
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(c.BundlePEM()))
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, Dir))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing generated with a provided CA")
}

func parse(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	require.NotNil(t, b)
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return c
}

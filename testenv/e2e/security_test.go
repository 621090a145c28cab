package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// secTTL is the certificate lifetime of the security test's mesh: the control plane rotates
// every certificate at about half of it (minus up to 10% jitter), so the whole test runs
// under rotation, and a push has ~9 seconds (a busy Envoy's main thread) before a
// certificate would expire.
const secTTL = 20 * time.Second

// secMesh is a control plane with short-lived certificates and three sidecars: frontend,
// reviews and ratings, each in front of an app.
type secMesh struct {
	cp                         *controlplane.ControlPlane
	frontend, reviews, ratings *Sidecar
}

func startSecMesh(t *testing.T) *secMesh {
	t.Helper()
	wasm(t, "wasmesh")
	cp := ControlPlaneConfigT(t, controlplane.Config{ModulesDir: filepath.Join(repoRoot(t), "build"), CA: ca.Options{TTL: secTTL}})
	m := &secMesh{cp: cp}
	m.frontend = SidecarT(t, cp, SidecarOptions{Service: "frontend", Version: "v1", NoWaitReady: true})
	m.reviews = SidecarT(t, cp, SidecarOptions{Service: "reviews", Version: "v1", NoWaitReady: true})
	m.ratings = SidecarT(t, cp, SidecarOptions{Service: "ratings", Version: "v1", NoWaitReady: true})
	var services strings.Builder
	for _, s := range []*Sidecar{m.frontend, m.reviews, m.ratings} {
		fmt.Fprintf(&services, "apiVersion: wasmesh.io/v1alpha1\nkind: Service\nmetadata: {name: %s}\nspec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}\n---\n",
			s.Params.Service, s.Params.InboundAddress)
	}
	m.apply(t, services.String()+"apiVersion: wasmesh.io/v1alpha1\nkind: TransportPolicy\nmetadata: {name: mesh}\nspec: {mode: STRICT}\n")
	for _, s := range []*Sidecar{m.frontend, m.reviews, m.ratings} {
		require.NoError(t, WaitFor(StartTimeout, func() error {
			_, err := s.AdminGet("/ready")
			return err
		}), "%s never became ready\n%s", s.Name, s.LogProblems(30))
	}
	require.NoError(t, WaitFor(StartTimeout, func() error {
		return expect(call(http.DefaultClient, m.frontend.OutboundURL(), "reviews", "GET", "/"))(http.StatusOK)
	}), "reviews never answered through the frontend sidecar\n%s\n%s", m.frontend.LogProblems(30), m.reviews.LogProblems(30))
	return m
}

// apply applies resources and waits (bounded) until every sidecar answered them.
func (m *secMesh) apply(t *testing.T, yaml string) {
	t.Helper()
	applyAckedT(t, m.cp, yaml)
}

func (m *secMesh) delete(t *testing.T, kind crd.Kind, name string) {
	t.Helper()
	waitAckedT(t, m.cp, deleteT(t, m.cp, kind, name))
}

type answer struct {
	status int
	body   string
}

// call sends one request to base (a sidecar listener) with the Host header host.
func call(c *http.Client, base, host, method, path string) (answer, error) {
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		return answer{}, err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(b)}, err
}

// expect turns call's result into a check of its status.
func expect(a answer, err error) func(int) error {
	return func(status int) error {
		if err != nil {
			return err
		}
		if a.status != status {
			return fmt.Errorf("status %d, want %d: %s", a.status, status, a.body)
		}
		return nil
	}
}

// tlsClient is an HTTPS client presenting cert (none when nil) that opens a new connection
// (a new handshake) per request. It does not verify the server: the tests are about what the
// sidecar accepts.
func tlsClient(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the server is not under test
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
}

func leafCert(t *testing.T, authority *ca.CA, service string) *tls.Certificate {
	t.Helper()
	l, err := authority.Issue(crd.DefaultNamespace, service)
	require.NoError(t, err)
	c, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
	require.NoError(t, err)
	return &c
}

// sslStat sums the admin stats whose name starts with prefix and ends with ".ssl.<name>".
func sslStat(t *testing.T, e *Envoy, prefix, name string) int64 {
	t.Helper()
	body, err := e.AdminGet("/stats?filter=ssl")
	require.NoError(t, err)
	var sum int64
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && strings.HasPrefix(k, prefix) && strings.HasSuffix(k, ".ssl."+name) {
			var n int64
			_, _ = fmt.Sscan(strings.TrimSpace(v), &n)
			sum += n
		}
	}
	return sum
}

// secLoad sends requests through a sidecar's outbound until stop is closed: half on a keep-alive
// connection, half on new connections. It counts what it sent and what failed.
type secLoad struct {
	sent, failed atomic.Int64
	firstErr     atomic.Value
	stop         chan struct{}
	wg           sync.WaitGroup
}

func startSecLoad(base, host string) *secLoad {
	l := &secLoad{stop: make(chan struct{})}
	clients := []*http.Client{
		{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
	for _, c := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				l.sent.Add(1)
				if err := expect(call(c, base, host, "GET", "/"))(http.StatusOK); err != nil {
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *secLoad) finish(t *testing.T, what string) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%s: %d requests sent, %d failed", what, l.sent.Load(), l.failed.Load())
	require.Zero(t, l.failed.Load(), "%s: %d of %d requests failed; first: %v", what, l.failed.Load(), l.sent.Load(), l.firstErr.Load())
	require.Positive(t, l.sent.Load())
}

// TestEnvoyMutualTLS runs one mesh of real Envoys through the security evidence: STRICT
// refuses plaintext and foreign certificates while sidecar-to-sidecar traffic is mTLS (by
// Envoy's own TLS stats); PERMISSIVE accepts both and switching it to STRICT fails no mesh
// request; authorization allows, denies (DENY first) and follows policy changes without a
// restart; certificates rotate (short TTL) under load without a failed request.
func TestEnvoyMutualTLS(t *testing.T) {
	m := startSecMesh(t)
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	t.Run("STRICT", func(t *testing.T) {
		for range 20 {
			require.NoError(t, expect(call(plain, m.frontend.OutboundURL(), "reviews", "GET", "/"))(http.StatusOK))
		}
		// mTLS as Envoy counts it: the caller's cluster and the callee's inbound listener
		// completed TLS handshakes, with a verified client certificate.
		if sslStat(t, m.frontend.Envoy, "cluster.reviews|v1|endpoints", "handshake") == 0 {
			body, _ := m.frontend.AdminGet("/stats?filter=ssl")
			t.Fatalf("no TLS handshake counted on frontend's reviews cluster:\n%s", body)
		}
		require.Positive(t, sslStat(t, m.reviews.Envoy, "listener.", "handshake"))
		require.Zero(t, sslStat(t, m.reviews.Envoy, "listener.", "no_certificate"), "every inbound handshake presented a client certificate")

		_, err := call(plain, m.reviews.InboundURL(), "reviews", "GET", "/")
		require.Error(t, err, "STRICT refuses a plaintext client")

		foreign, err := ca.Load(t.TempDir(), ca.Options{})
		require.NoError(t, err)
		_, err = call(tlsClient(leafCert(t, foreign, "frontend")), "https://"+m.reviews.Params.InboundAddress, "reviews", "GET", "/")
		require.Error(t, err, "STRICT refuses a certificate from another CA")
		_, err = call(tlsClient(nil), "https://"+m.reviews.Params.InboundAddress, "reviews", "GET", "/")
		require.Error(t, err, "STRICT refuses TLS without a client certificate")
		// The control: the same client with a certificate of the mesh CA gets through.
		require.NoError(t, expect(call(tlsClient(leafCert(t, m.cp.CA, "frontend")), "https://"+m.reviews.Params.InboundAddress, "reviews", "GET", "/"))(http.StatusOK))

		st, err := m.cp.Client().Status(context.Background())
		require.NoError(t, err)
		for _, n := range st.Nodes {
			require.Equal(t, ca.SPIFFEID(ca.DefaultTrustDomain, "default", n.Service), n.Identity, n.ID)
			require.Equal(t, crd.ModeStrict, n.InboundMode, n.ID)
			require.NotNil(t, n.CertExpiry, n.ID)
		}
	})

	t.Run("PERMISSIVE, then STRICT under load", func(t *testing.T) {
		m.apply(t, "apiVersion: wasmesh.io/v1alpha1\nkind: TransportPolicy\nmetadata: {name: reviews}\nspec: {mode: PERMISSIVE, services: [reviews]}\n")
		require.NoError(t, WaitFor(StartTimeout, func() error {
			return expect(call(plain, m.reviews.InboundURL(), "reviews", "GET", "/"))(http.StatusOK)
		}), "PERMISSIVE accepts plaintext")
		require.NoError(t, expect(call(tlsClient(leafCert(t, m.cp.CA, "frontend")), "https://"+m.reviews.Params.InboundAddress, "reviews", "GET", "/"))(http.StatusOK),
			"PERMISSIVE accepts mTLS")

		l := startSecLoad(m.frontend.OutboundURL(), "reviews")
		time.Sleep(500 * time.Millisecond)
		m.delete(t, crd.KindTransportPolicy, "reviews") // back to the mesh-wide STRICT
		require.NoError(t, WaitFor(StartTimeout, func() error {
			if _, err := call(plain, m.reviews.InboundURL(), "reviews", "GET", "/"); err == nil {
				return fmt.Errorf("plaintext still accepted")
			}
			return nil
		}))
		time.Sleep(time.Second)
		l.finish(t, "PERMISSIVE → STRICT")
	})

	t.Run("authorization", func(t *testing.T) {
		pid := m.ratings.PID()
		m.apply(t, `apiVersion: wasmesh.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: ratings-callers}
spec:
  services: [ratings]
  action: ALLOW
  rules: [{from: [{service: reviews}]}]
---
apiVersion: wasmesh.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: no-admin}
spec:
  services: [ratings]
  action: DENY
  rules: [{from: [{service: reviews}], match: {path: {prefix: /admin}}}]
`)
		var denied answer
		require.NoError(t, WaitFor(StartTimeout, func() error {
			var err error
			denied, err = call(plain, m.frontend.OutboundURL(), "ratings", "GET", "/")
			return expect(denied, err)(http.StatusForbidden)
		}), "frontend calling ratings is denied")
		require.Equal(t, "RBAC: access denied: spiffe://wasmesh.local/ns/default/sa/frontend by AuthorizationPolicy default/ratings-callers\n", denied.body)
		require.NoError(t, expect(call(plain, m.reviews.OutboundURL(), "ratings", "GET", "/"))(http.StatusOK), "reviews may call ratings")
		a, err := call(plain, m.reviews.OutboundURL(), "ratings", "GET", "/admin/x")
		require.NoError(t, expect(a, err)(http.StatusForbidden), "DENY beats ALLOW")
		require.Contains(t, a.body, "by AuthorizationPolicy default/no-admin")
		stats, err := m.ratings.AdminGet("/stats?filter=wasmesh_authz_requests_total")
		require.NoError(t, err)
		require.Contains(t, stats, "policy=default/ratings-callers;decision=deny")
		require.Contains(t, stats, "policy=default/ratings-callers;decision=allow")

		m.delete(t, crd.KindAuthorizationPolicy, "ratings-callers")
		require.NoError(t, WaitFor(StartTimeout, func() error {
			return expect(call(plain, m.frontend.OutboundURL(), "ratings", "GET", "/"))(http.StatusOK)
		}), "without the ALLOW policy frontend may call ratings again")
		require.Equal(t, pid, m.ratings.PID(), "no restart")
		require.False(t, m.ratings.Exited())
	})

	t.Run("rotation under load", func(t *testing.T) {
		pids := []int{m.frontend.PID(), m.reviews.PID()}
		l := startSecLoad(m.frontend.OutboundURL(), "reviews")
		serials := map[string]bool{}
		deadline := time.Now().Add(10 * secTTL)
		var handshakes, failed int
		for len(serials) < 4 && time.Now().Before(deadline) {
			handshakes++
			client := tlsClient(leafCert(t, m.cp.CA, "frontend")) // the test's own certificate expires too
			req, _ := http.NewRequest("GET", "https://"+m.reviews.Params.InboundAddress+"/", nil)
			req.Host = "reviews"
			resp, err := client.Do(req)
			if err != nil {
				failed++
				t.Logf("direct mTLS request: %v", err)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.TLS == nil {
				failed++
				continue
			}
			leaf := resp.TLS.PeerCertificates[0]
			require.Equal(t, "spiffe://wasmesh.local/ns/default/sa/reviews", leaf.URIs[0].String())
			serials[leaf.SerialNumber.String()] = true
			time.Sleep(100 * time.Millisecond)
		}
		l.finish(t, "rotation")
		t.Logf("rotation: reviews served %d certificates over %d new mTLS connections", len(serials), handshakes)
		require.Zero(t, failed, "new mTLS connections across rotations")
		require.GreaterOrEqual(t, len(serials), 4, "at least 3 rotations of the certificate reviews serves")
		require.Equal(t, pids, []int{m.frontend.PID(), m.reviews.PID()}, "no Envoy restarted")
		require.False(t, m.frontend.Exited() || m.reviews.Exited())
	})
}

package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/ca"
)

// handshakeConfig is an Envoy with two listeners answering 200 directly: plaintext on
// plainPort, and on mtlsPort the inbound mTLS of a STRICT sidecar (a certificate of the mesh
// CA required and verified, ECDSA P-256 as the control plane issues).
func handshakeConfig(plainPort, mtlsPort int, cert, key, bundle []byte) []byte {
	hcm := `
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: %s
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: /}
                direct_response: {status: 200, body: {inline_string: ok}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}`
	return fmt.Appendf(nil, `admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 0}}
static_resources:
  listeners:
  - name: plain
    address: {socket_address: {address: 127.0.0.1, port_value: %d}}
    filter_chains:
    - filters:%s
  - name: mtls
    address: {socket_address: {address: 127.0.0.1, port_value: %d}}
    filter_chains:
    - filters:%s
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates:
            - certificate_chain: {inline_string: %q}
              private_key: {inline_string: %q}
            validation_context:
              trusted_ca: {inline_string: %q}
`, plainPort, fmt.Sprintf(hcm, "plain"), mtlsPort, fmt.Sprintf(hcm, "mtls"), cert, key, bundle)
}

// cpuTicks is a process's user+system CPU time from /proc (Linux), in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return u + k, nil
}

// BenchmarkEnvoyNewConnection is what mutual TLS costs per new connection: one request on a
// new connection to Envoy, plaintext vs the STRICT inbound's mTLS (client certificate
// verified against the mesh CA; TLS 1.3, ECDSA P-256). ns/op is the client's wall time
// (a Go client on loopback: both ends of the handshake share the machine); envoy_cpu_us/op is
// Envoy's own CPU per connection (from /proc, 10 ms ticks: use -benchtime 2000x or more).
// Run: go test ./testenv/e2e -run '^$' -bench EnvoyNewConnection -benchtime 2000x
func BenchmarkEnvoyNewConnection(b *testing.B) {
	authority, err := ca.Load(b.TempDir(), ca.Options{})
	require.NoError(b, err)
	server, err := authority.Issue("default", "reviews")
	require.NoError(b, err)
	client, err := authority.Issue("default", "frontend")
	require.NoError(b, err)
	pair, err := tls.X509KeyPair(client.CertPEM, client.KeyPEM)
	require.NoError(b, err)
	ports := FreePortsT(b, 2)
	e := EnvoyT(b, EnvoyOptions{Name: "handshake", Binary: envoyBin(b), LogLevel: "warn",
		Config: handshakeConfig(ports[0], ports[1], server.CertPEM, server.KeyPEM, authority.BundlePEM())})
	for _, mode := range []struct {
		name string
		url  string
		tls  *tls.Config
	}{
		{"plaintext", "http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/", nil},
		{"mtls", "https://127.0.0.1:" + strconv.Itoa(ports[1]) + "/", &tls.Config{
			Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true, //nolint:gosec // the client's verification is not measured
			ClientSessionCache: nil, // no resumption: a full handshake per connection, as between sidecars
		}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: mode.tls}}
			before, err := cpuTicks(e.PID())
			require.NoError(b, err)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := c.Get(mode.url)
				require.NoError(b, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(b, http.StatusOK, resp.StatusCode)
			}
			b.StopTimer()
			after, err := cpuTicks(e.PID())
			require.NoError(b, err)
			const tick = 10 * time.Millisecond // USER_HZ 100
			b.ReportMetric(float64(time.Duration(after-before)*tick/time.Microsecond)/float64(b.N), "envoy_cpu_us/op")
		})
	}
	if n, _, err := e.Stat("listener.127.0.0.1_" + strconv.Itoa(ports[1]) + ".ssl.handshake"); err == nil && n == 0 {
		b.Fatalf("the mtls listener counted no handshake")
	}
}

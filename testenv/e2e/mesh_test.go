package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/internal/bootstrap"
)

// ControlPlaneT starts the wasmesh control plane in-process for a test, on free loopback
// ports with a temporary data directory, serving the modules in modulesDir (normally the
// repository's build/), and closes it in t.Cleanup.
func ControlPlaneT(t testing.TB, modulesDir string) *controlplane.ControlPlane {
	t.Helper()
	return ControlPlaneConfigT(t, controlplane.Config{ModulesDir: modulesDir})
}

// ControlPlaneConfigT is ControlPlaneT with a configuration (its data directory and
// addresses are the test's).
func ControlPlaneConfigT(t testing.TB, cfg controlplane.Config) *controlplane.ControlPlane {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg.DataDir, cfg.XDSAddress, cfg.HTTPAddress = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cp, err := controlplane.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Close(); err != nil {
			t.Errorf("control plane close: %v", err)
		}
		cancel()
	})
	return cp
}

// Sidecar is an Envoy bootstrapped from envoy-configs' sidecar bootstrap against a control
// plane, in front of an app (an Upstream).
type Sidecar struct {
	*Envoy
	Params bootstrap.Params
	App    *Upstream
	opts   SidecarOptions
}

// OutboundURL is the base URL of the sidecar's outbound listener (send with Host: <service>).
func (s *Sidecar) OutboundURL() string { return "http://" + s.Params.OutboundAddress }

// InboundURL is the base URL of the sidecar's inbound listener.
func (s *Sidecar) InboundURL() string { return "http://" + s.Params.InboundAddress }

// SidecarOptions configures SidecarT.
type SidecarOptions struct {
	Service, Version string
	Index            int // n in the node id <service>.<version>.<n>
	// App configures the app behind the sidecar (its Service and Version are filled in; with
	// NextHost and no Next, the app calls NextHost through its own sidecar's outbound).
	App UpstreamOptions
	// NoWaitReady returns once admin answers instead of waiting for /ready (which needs the
	// control plane to have answered LDS and CDS).
	NoWaitReady bool
	Concurrency int
	// NoCredential renders the bootstrap without the node's xDS credential; Credential, when
	// set, is rendered instead of the node's (another node's, a forged one).
	NoCredential bool
	Credential   string
}

// SidecarT starts an app and its sidecar for a test: free loopback ports for the inbound,
// outbound and admin addresses, the bootstrap rendered by internal/bootstrap with the control
// plane's addresses and the node's xDS credential, and Envoy started with EnvoyT.
func SidecarT(t testing.TB, cp *controlplane.ControlPlane, o SidecarOptions) *Sidecar {
	t.Helper()
	xdsAddr, modulesAddr := cp.XDSAddr, cp.HTTPAddr
	if xdsAddr == "" || modulesAddr == "" {
		// Never fall back to the default ports: another control plane may run there.
		t.Fatalf("sidecar %s.%s: control plane addresses missing (xds %q, modules %q): is the xDS server wired into controlplane.Start?", o.Service, o.Version, xdsAddr, modulesAddr)
	}
	o.App.Service, o.App.Version = o.Service, o.Version
	ports := FreePortsT(t, 3)
	hp := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	if o.App.NextHost != "" && o.App.Next == "" { // the app calls onward through its sidecar
		o.App.Next = "http://" + hp(ports[1])
	}
	app := UpstreamT(t, o.App)
	p := bootstrap.Params{
		NodeID:  fmt.Sprintf("%s.%s.%d", o.Service, o.Version, o.Index),
		Service: o.Service, Version: o.Version,
		AppAddress: app.Addr(), InboundAddress: hp(ports[0]), OutboundAddress: hp(ports[1]), AdminAddress: hp(ports[2]),
		XDSAddress: xdsAddr, ModulesAddress: modulesAddr,
	}
	switch {
	case o.Credential != "":
		p.XDSToken = o.Credential
	case !o.NoCredential:
		p.XDSToken = cp.SidecarToken(p.NodeID)
	}
	s := &Sidecar{Params: p, App: app, opts: o}
	s.start(t)
	return s
}

func (s *Sidecar) start(t testing.TB) {
	t.Helper()
	cfg, err := bootstrap.Render(s.Params)
	if err != nil {
		t.Fatal(err)
	}
	s.Envoy = EnvoyT(t, EnvoyOptions{Name: s.Params.NodeID, Config: cfg, NoWaitReady: s.opts.NoWaitReady, Concurrency: s.opts.Concurrency})
}

// Restart starts the sidecar's Envoy again with the same bootstrap (same node id and
// addresses) after Kill or Stop; the app is left as it is. The new Envoy is stopped in t's
// cleanup: pass the test that owns the mesh, not a subtest that ends before it.
func (s *Sidecar) Restart(t testing.TB) {
	t.Helper()
	s.Envoy.Stop()
	s.start(t)
}

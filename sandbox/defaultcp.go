package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// requiredModules are the filter modules (in build/) the sandbox needs before it starts.
var requiredModules = []string{"wasmesh.wasm"}

// xdsTypes are the xDS types every sandbox sidecar receives (short names as the status API
// reports them): its listeners and clusters, the outbound route, endpoints, and the ECDS
// filter configs.
var xdsTypes = []string{"listeners", "clusters", "routes", "endpoints", "extension_configs"}

// inProcess is the wasmesh control plane running inside the sandbox process.
type inProcess struct {
	cp     *controlplane.ControlPlane
	client *api.Client
}

// DefaultControlPlane starts the wasmesh control plane in-process (controlplane.Start, what
// `wasmesh serve` runs) on the topology's addresses, with its store and token in dataDir and the
// built-in filter modules from buildDir.
func DefaultControlPlane(ctx context.Context, t Topology, dataDir, buildDir string) (ControlPlane, error) {
	return ControlPlaneWithCA(ca.Options{})(ctx, t, dataDir, buildDir)
}

// ControlPlaneWithCA is DefaultControlPlane with the certificate authority configured by opts.
func ControlPlaneWithCA(opts ca.Options) ControlPlaneFunc {
	return func(ctx context.Context, t Topology, dataDir, buildDir string) (ControlPlane, error) {
		return startInProcess(ctx, t, dataDir, buildDir, opts)
	}
}

func startInProcess(ctx context.Context, t Topology, dataDir, buildDir string, caOpts ca.Options) (ControlPlane, error) {
	for _, m := range requiredModules {
		if _, err := os.Stat(filepath.Join(buildDir, m)); err != nil {
			return nil, fmt.Errorf("filter module %s is missing: run make build", filepath.Join(buildDir, m))
		}
	}
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir:     dataDir,
		XDSAddress:  t.Addr(t.XDS),
		HTTPAddress: t.Addr(t.HTTP),
		ModulesDir:  buildDir,
		Prometheus:  t.MetricsURL,
		CA:          caOpts,
	})
	if err != nil {
		return nil, err
	}
	return &inProcess{cp: cp, client: cp.Client()}, nil
}

// Apply reads the files as `wasmesh apply -f` does and applies them in one request.
func (p *inProcess) Apply(ctx context.Context, paths []string) ([]string, error) {
	docs, err := crd.ReadPaths(nil, paths...)
	if err != nil {
		return nil, err
	}
	res, err := p.client.Apply(ctx, docs, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range res.Results {
		out = append(out, fmt.Sprintf("%s/%s %s", strings.ToLower(string(r.Key.Kind)), r.Key.Name, r.Action))
	}
	return out, nil
}

// Nodes reports the connected Envoys from the API's status.
func (p *inProcess) Nodes(ctx context.Context) ([]NodeState, error) {
	if err := p.cp.Err(); err != nil {
		return nil, err
	}
	st, err := p.client.Status(ctx)
	if err != nil {
		return nil, err
	}
	return NodeStates(st), nil
}

// NodeStates reads the connected Envoys from the API's status: a node is ACKed when it is
// connected and runs the latest version of every xDS type a sandbox sidecar receives.
func NodeStates(st *api.StatusResponse) []NodeState {
	var out []NodeState
	for _, n := range st.Nodes {
		ns := NodeState{ID: n.ID, Acked: n.Connected}
		seen := map[string]bool{}
		for _, ty := range n.Types {
			seen[ty.Type] = true
			if !ty.Current() {
				ns.Acked = false
			}
			if ty.NACK != "" {
				ns.Errors = append(ns.Errors, fmt.Sprintf("%s version %s: %s", ty.Type, ty.NACKVersion, ty.NACK))
			}
		}
		for _, ty := range xdsTypes {
			if !seen[ty] {
				ns.Acked = false
			}
		}
		out = append(out, ns)
	}
	return out
}

// Home is the control plane's data directory: `WASMESH_HOME=<it> wasmesh status` finds its token.
func (p *inProcess) Home() string { return p.cp.DataDir }

// Credential mints the sidecar's xDS credential.
func (p *inProcess) Credential(_ context.Context, nodeID string) (string, error) {
	return p.cp.SidecarToken(nodeID), nil
}

// UIURL is the control plane's web UI, with the API token in the URL fragment.
func (p *inProcess) UIURL() string { return p.cp.UIURL() }

// Close stops the control plane.
func (p *inProcess) Close() error { return p.cp.Close() }

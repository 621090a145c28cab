package sandbox

import (
	"github.com/wasmesh/wasmesh/internal/bootstrap"
)

// Sidecar returns the bootstrap parameters of an instance's sidecar in the topology: node id
// and metadata per docs/conventions.md, its admin, and the control plane's addresses.
func (t Topology) Sidecar(in Instance) bootstrap.Params {
	return bootstrap.Params{
		NodeID: in.NodeID(), Service: in.Service, Version: in.Version,
		AppAddress: in.AppAddress(), InboundAddress: in.InboundAddress(), OutboundAddress: in.OutboundAddress(),
		AdminAddress: in.AdminAddress(), XDSAddress: t.XDSAddress(), ModulesAddress: t.HTTPAddress(),
	}
}

// BootstrapFunc renders a sidecar's Envoy bootstrap YAML.
type BootstrapFunc func(bootstrap.Params) ([]byte, error)

// ComposeBootstraps renders the Docker variant's sidecar bootstraps with the same renderer as
// the process sandbox (internal/bootstrap, envoy-configs), by file name (<service>-<version>.yaml).
func ComposeBootstraps() (map[string][]byte, error) {
	t := ComposeTopology()
	out := map[string][]byte{}
	for _, in := range t.Instances {
		b, err := bootstrap.Render(t.Sidecar(in))
		if err != nil {
			return nil, err
		}
		out[in.Name()+".yaml"] = b
	}
	return out, nil
}

package sandbox

import (
	_ "embed"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/wasmesh/wasmesh/controlplane/xds"
	"github.com/wasmesh/wasmesh/internal/bootstrap"
)

// composeKey is the Docker variant's xDS key (compose/xds-key, mounted as the compose control
// plane's <data dir>/xds-key): a development key for the local demo, never for a real mesh.
//
//go:embed compose/xds-key
var composeKey string

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
//
// Each carries the sidecar's xDS credential, minted from compose/xds-key.
func ComposeBootstraps() (map[string][]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(composeKey))
	if err != nil {
		return nil, fmt.Errorf("compose/xds-key: %w", err)
	}
	creds, err := xds.NewCredentials(key)
	if err != nil {
		return nil, fmt.Errorf("compose/xds-key: %w", err)
	}
	t := ComposeTopology()
	out := map[string][]byte{}
	for _, in := range t.Instances {
		p := t.Sidecar(in)
		p.XDSToken = creds.Token(in.NodeID())
		b, err := bootstrap.Render(p)
		if err != nil {
			return nil, err
		}
		out[in.Name()+".yaml"] = b
	}
	return out, nil
}

package translate

import (
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
)

// ModuleRef is one Wasm filter config of a node and the module it runs (the xDS server
// reports it as api.ModuleStatus).
type ModuleRef struct {
	// Config is the ECDS name (wasmesh.chain, wasmesh.slot.before.0, ...).
	Config string
	// RootID is the plugin's root id in the module.
	RootID string
	// SHA256 is the module's digest, as Envoy checks it after the download.
	SHA256 string
}

// Modules lists the Wasm filter configs of the resources with their module's sha256, in
// config-name order (empty slots run no module and are left out).
func (r *Resources) Modules() []ModuleRef {
	var out []ModuleRef
	for _, c := range r.ExtensionConfigs {
		var w wasmfilter.Wasm
		if c.GetTypedConfig() == nil || c.GetTypedConfig().UnmarshalTo(&w) != nil {
			continue
		}
		sha := w.GetConfig().GetVmConfig().GetCode().GetRemote().GetSha256()
		if sha == "" {
			continue
		}
		out = append(out, ModuleRef{Config: c.Name, RootID: w.GetConfig().GetRootId(), SHA256: sha})
	}
	return out
}

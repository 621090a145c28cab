package translate

import (
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// Node metadata keys a sidecar's bootstrap sets (docs/conventions.md).
const (
	MetaService         = "service"
	MetaVersion         = "version"
	MetaAppAddress      = "app_address"
	MetaInboundAddress  = "inbound_address"
	MetaOutboundAddress = "outbound_address"
	MetaAdminAddress    = "admin_address"
)

// NodeFromProto reads a sidecar's identity and addresses from its Envoy node: the id and the
// metadata keys above (string values; others are ignored). The service falls back to
// node.cluster.
func NodeFromProto(n *core.Node) Node {
	str := func(key string) string {
		return n.GetMetadata().GetFields()[key].GetStringValue()
	}
	out := Node{
		ID:              n.GetId(),
		Service:         str(MetaService),
		Version:         str(MetaVersion),
		AppAddress:      str(MetaAppAddress),
		InboundAddress:  str(MetaInboundAddress),
		OutboundAddress: str(MetaOutboundAddress),
		AdminAddress:    str(MetaAdminAddress),
	}
	if out.Service == "" {
		out.Service = n.GetCluster()
	}
	return out
}

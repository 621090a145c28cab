package sandbox

import (
	"bytes"
	"fmt"
	"net"
	"text/template"
)

// SidecarParams is what a sidecar's Envoy bootstrap is rendered from (docs/conventions.md:
// node id and cluster, node metadata, admin, the control plane's addresses).
type SidecarParams struct {
	NodeID          string
	Service         string
	Version         string
	AppAddress      string
	InboundAddress  string
	OutboundAddress string
	AdminAddress    string
	XDSAddress      string // the control plane's ADS, host:port
	HTTPAddress     string // the control plane's module server, host:port
}

// Sidecar returns the bootstrap parameters of an instance's sidecar in the topology.
func (t Topology) Sidecar(in Instance) SidecarParams {
	return SidecarParams{
		NodeID: in.NodeID(), Service: in.Service, Version: in.Version,
		AppAddress: in.AppAddress(), InboundAddress: in.InboundAddress(), OutboundAddress: in.OutboundAddress(),
		AdminAddress: in.AdminAddress(), XDSAddress: t.XDSAddress(), HTTPAddress: t.HTTPAddress(),
	}
}

// BootstrapFunc renders a sidecar's Envoy bootstrap YAML.
type BootstrapFunc func(SidecarParams) ([]byte, error)

// ComposeBootstraps renders the Docker variant's sidecar bootstraps, by file name
// (<service>-<version>.yaml).
func ComposeBootstraps() (map[string][]byte, error) {
	t := ComposeTopology()
	out := map[string][]byte{}
	for _, in := range t.Instances {
		b, err := RenderBootstrap(t.Sidecar(in))
		if err != nil {
			return nil, err
		}
		out[in.Name()+".yaml"] = b
	}
	return out, nil
}

// TagKeys are the metric tag keys of the built-in filters (docs/conventions.md); the bootstrap
// has one stats_tags rule per key.
var TagKeys = []string{
	"source_service", "source_version", "destination_service", "destination_version",
	"route", "method", "response_code_class", "service", "version", "kind",
}

// RenderBootstrap renders a sidecar bootstrap: node id, cluster and metadata, admin, ADS to the
// control plane (listeners and clusters over ADS), the static clusters wasmesh-xds and
// wasmesh-modules, and one stats tag rule per metric tag key.
func RenderBootstrap(p SidecarParams) ([]byte, error) {
	type addr struct {
		Host string
		Port string
	}
	split := func(what, a string) (addr, error) {
		h, port, err := net.SplitHostPort(a)
		if err != nil {
			return addr{}, fmt.Errorf("bootstrap %s: %s: %w", p.NodeID, what, err)
		}
		return addr{h, port}, nil
	}
	admin, err := split("admin address", p.AdminAddress)
	if err != nil {
		return nil, err
	}
	xds, err := split("xds address", p.XDSAddress)
	if err != nil {
		return nil, err
	}
	mods, err := split("http address", p.HTTPAddress)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = bootstrapTmpl.Execute(&buf, struct {
		P               SidecarParams
		Admin, XDS, Mod addr
		Tags            []string
	}{p, admin, xds, mods, TagKeys})
	if err != nil {
		return nil, fmt.Errorf("bootstrap %s: %w", p.NodeID, err)
	}
	return buf.Bytes(), nil
}

var bootstrapTmpl = template.Must(template.New("bootstrap").Parse(`# Sidecar bootstrap for {{.P.NodeID}}: listeners, routes, clusters and filters come from the
# control plane over ADS.
node:
  id: {{.P.NodeID}}
  cluster: {{.P.Service}}
  metadata:
    service: {{.P.Service}}
    version: {{.P.Version}}
    app_address: "{{.P.AppAddress}}"
    inbound_address: "{{.P.InboundAddress}}"
    outbound_address: "{{.P.OutboundAddress}}"
admin:
  address:
    socket_address: {address: {{.Admin.Host}}, port_value: {{.Admin.Port}}}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    set_node_on_first_message_only: true
    grpc_services:
    - envoy_grpc: {cluster_name: wasmesh-xds}
  lds_config: {ads: {}, resource_api_version: V3}
  cds_config: {ads: {}, resource_api_version: V3}
static_resources:
  clusters:
  - name: wasmesh-xds
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    load_assignment:
      cluster_name: wasmesh-xds
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: {{.XDS.Host}}, port_value: {{.XDS.Port}}}}}
  - name: wasmesh-modules
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: wasmesh-modules
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: {{.Mod.Host}}, port_value: {{.Mod.Port}}}}}
stats_config:
  stats_tags:
{{- range .Tags}}
  - {tag_name: {{.}}, regex: "(;{{.}}=([^;]*))"}
{{- end}}
`))

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/wasmesh/wasmesh/internal/bootstrap"
	"github.com/wasmesh/wasmesh/testenv"
)

// WasmFilter is one proxy-wasm HTTP filter in a static chain.
type WasmFilter struct {
	Name   string // plugin name, e.g. "canary"
	File   string // path of the .wasm
	RootID string // root_id ("" for a standalone module)
	VMID   string // vm_id; filters sharing a vm_id and code share one VM; default "wasmesh.<Name>"
	Config string // plugin configuration, passed as a google.protobuf.StringValue
	// FailOpen lets requests through when the plugin failed (default: fail closed).
	FailOpen bool
	// Env sets the VM's environment variables (vm_config.environment_variables), e.g. GOGC.
	Env map[string]string
}

// Cluster is a static upstream cluster with one endpoint.
type Cluster struct {
	Name    string // e.g. "reviews|v2"
	Address string // host:port
}

// StaticConfig describes a self-contained Envoy bootstrap: admin on 127.0.0.1 (port 0 unless
// AdminPort is set), one HTTP listener on 127.0.0.1:ListenPort running Filters in order and
// then envoy.filters.http.router, a route that sends requests carrying testenv.RoutingHeader to the
// cluster it names and the rest to DefaultCluster, and the metric tag rules of the sidecar
// bootstrap. The two routes are named "routing-header" and "default".
type StaticConfig struct {
	AdminPort      int
	ListenPort     int
	Filters        []WasmFilter
	Clusters       []Cluster
	DefaultCluster string // cluster of the default route; empty = 404 direct response
	// AccessLog writes Envoy's own access log (one line per request) to this path when set.
	AccessLog string
	// AccessLogFormat is the access log's text format (Envoy's format commands); "" = Envoy's
	// default format.
	AccessLogFormat string
	// RouteTimeoutSeconds is the route timeout; 0 = 15 (Envoy's default).
	RouteTimeoutSeconds int
	// BarrierPort, when set, adds a listener on 127.0.0.1:BarrierPort that answers 200 with no
	// filter and no log. With one worker, its answer means the worker finished everything it
	// was doing before, such as the end-of-stream logging of an earlier request.
	BarrierPort int
	// Node is the bootstrap's node (id, cluster and the service/version metadata of
	// docs/conventions.md), as a sidecar's; nil leaves Envoy's default node.
	Node *Node
	// MTLS, when set, makes the main listener a PERMISSIVE sidecar inbound: the TLS inspector,
	// an mTLS filter chain (client certificate required and verified against MTLS.CA) and a
	// plaintext one, both running the same filters.
	MTLS *ListenerTLS
}

// ListenerTLS is a listener's server certificate and the CA its clients' certificates must
// chain to (PEM).
type ListenerTLS struct {
	Cert, Key, CA []byte
}

// Node is a sidecar's identity in the bootstrap.
type Node struct {
	ID, Service, Version string
}

type obj = map[string]any

func socketAddress(hostport string) (obj, error) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", p, err)
	}
	return obj{"socket_address": obj{"address": h, "port_value": port}}, nil
}

// WasmFilterConfig returns the typed_config of an envoy.filters.http.wasm filter for f.
func WasmFilterConfig(f WasmFilter) obj {
	vm := f.VMID
	if vm == "" {
		vm = "wasmesh." + f.Name
	}
	vmConfig := obj{
		"vm_id":   vm,
		"runtime": "envoy.wasm.runtime.v8",
		"code":    obj{"local": obj{"filename": f.File}},
	}
	if len(f.Env) > 0 {
		vmConfig["environment_variables"] = obj{"key_values": f.Env}
	}
	return obj{
		"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
		"config": obj{
			"name":    f.Name,
			"root_id": f.RootID,
			"configuration": obj{
				"@type": "type.googleapis.com/google.protobuf.StringValue",
				"value": f.Config,
			},
			"fail_open": f.FailOpen,
			"vm_config": vmConfig,
		},
	}
}

// StatsTags returns the stats_config.stats_tags rules of the sidecar bootstrap.
func StatsTags() []obj {
	keys := bootstrap.TagKeys()
	tags := make([]obj, 0, len(keys))
	for _, k := range keys {
		tags = append(tags, obj{"tag_name": k, "regex": "(;" + k + "=([^;]*))"})
	}
	return tags
}

// YAML renders the bootstrap (as JSON, which Envoy reads as YAML).
func (c StaticConfig) YAML() ([]byte, error) {
	filters := make([]any, 0, len(c.Filters)+1)
	for i, f := range c.Filters {
		if f.Name == "" || f.File == "" {
			return nil, fmt.Errorf("static config: filters[%d]: name and file are required", i)
		}
		filters = append(filters, obj{"name": "envoy.filters.http.wasm", "typed_config": WasmFilterConfig(f)})
	}
	filters = append(filters, obj{"name": "envoy.filters.http.router", "typed_config": obj{
		"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})

	timeout := c.RouteTimeoutSeconds
	if timeout == 0 {
		timeout = 15
	}
	to := strconv.Itoa(timeout) + "s"
	routes := []any{obj{
		"name":  "routing-header",
		"match": obj{"prefix": "/", "headers": []any{obj{"name": testenv.RoutingHeader, "present_match": true}}},
		"route": obj{"cluster_header": testenv.RoutingHeader, "timeout": to},
	}}
	if c.DefaultCluster != "" {
		routes = append(routes, obj{"name": "default", "match": obj{"prefix": "/"}, "route": obj{"cluster": c.DefaultCluster, "timeout": to}})
	} else {
		routes = append(routes, obj{"name": "default", "match": obj{"prefix": "/"}, "direct_response": obj{"status": 404, "body": obj{"inline_string": "no route\n"}}})
	}
	hcm := obj{
		"@type":        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		"stat_prefix":  "wasmesh",
		"route_config": obj{"name": "local", "virtual_hosts": []any{obj{"name": "all", "domains": []any{"*"}, "routes": routes}}},
		"http_filters": filters,
	}
	if c.AccessLog != "" {
		al := obj{"@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", "path": c.AccessLog}
		if c.AccessLogFormat != "" {
			al["log_format"] = obj{"text_format_source": obj{"inline_string": c.AccessLogFormat}}
		}
		hcm["access_log"] = []any{obj{"name": "envoy.access_loggers.file", "typed_config": al}}
	}
	listen, err := socketAddress(net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ListenPort)))
	if err != nil {
		return nil, err
	}
	clusters := make([]any, 0, len(c.Clusters))
	seen := map[string]bool{}
	sorted := append([]Cluster(nil), c.Clusters...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, cl := range sorted {
		if seen[cl.Name] {
			return nil, fmt.Errorf("static config: cluster %q defined twice", cl.Name)
		}
		seen[cl.Name] = true
		addr, err := socketAddress(cl.Address)
		if err != nil {
			return nil, fmt.Errorf("static config: cluster %q: address: %w", cl.Name, err)
		}
		clusters = append(clusters, obj{
			"name": cl.Name, "type": "STATIC", "connect_timeout": "1s",
			"load_assignment": obj{"cluster_name": cl.Name, "endpoints": []any{obj{"lb_endpoints": []any{obj{"endpoint": obj{"address": addr}}}}}},
		})
	}
	if c.DefaultCluster != "" && !seen[c.DefaultCluster] {
		return nil, fmt.Errorf("static config: default cluster %q is not among the clusters", c.DefaultCluster)
	}
	admin, _ := socketAddress(net.JoinHostPort("127.0.0.1", strconv.Itoa(c.AdminPort)))
	main := obj{
		"name": "main", "address": listen,
		"filter_chains": []any{obj{"filters": []any{obj{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}}}},
	}
	if t := c.MTLS; t != nil {
		netFilters := []any{obj{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}}
		main["listener_filters"] = []any{obj{"name": "envoy.filters.listener.tls_inspector", "typed_config": obj{
			"@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"}}}
		main["filter_chains"] = []any{
			obj{"name": "mtls", "filter_chain_match": obj{"transport_protocol": "tls"}, "filters": netFilters,
				"transport_socket": obj{"name": "envoy.transport_sockets.tls", "typed_config": obj{
					"@type":                      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
					"require_client_certificate": true,
					"common_tls_context": obj{
						"tls_certificates":   []any{obj{"certificate_chain": obj{"inline_string": string(t.Cert)}, "private_key": obj{"inline_string": string(t.Key)}}},
						"validation_context": obj{"trusted_ca": obj{"inline_string": string(t.CA)}},
					},
				}}},
			obj{"name": "plaintext", "filter_chain_match": obj{"transport_protocol": "raw_buffer"}, "filters": netFilters},
		}
	}
	listeners := []any{main}
	if c.BarrierPort != 0 {
		addr, err := socketAddress(net.JoinHostPort("127.0.0.1", strconv.Itoa(c.BarrierPort)))
		if err != nil {
			return nil, err
		}
		barrier := obj{
			"@type":       "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
			"stat_prefix": "barrier",
			"route_config": obj{"name": "barrier", "virtual_hosts": []any{obj{"name": "all", "domains": []any{"*"},
				"routes": []any{obj{"match": obj{"prefix": "/"}, "direct_response": obj{"status": 200}}}}}},
			"http_filters": []any{obj{"name": "envoy.filters.http.router", "typed_config": obj{
				"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}},
		}
		listeners = append(listeners, obj{"name": "barrier", "address": addr,
			"filter_chains": []any{obj{"filters": []any{obj{"name": "envoy.filters.network.http_connection_manager", "typed_config": barrier}}}}})
	}
	cfg := obj{
		"admin": obj{"address": admin},
		"static_resources": obj{
			"listeners": listeners,
			"clusters":  clusters,
		},
		"stats_config": obj{"stats_tags": StatsTags()},
	}
	if n := c.Node; n != nil {
		cfg["node"] = obj{"id": n.ID, "cluster": n.Service, "metadata": obj{"service": n.Service, "version": n.Version}}
	}
	return json.MarshalIndent(cfg, "", "  ")
}

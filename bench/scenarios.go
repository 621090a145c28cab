package main

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/wasmesh/wasmesh/filters/chain"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

// The JSON each wasmesh filter gets in the benchmarks (docs/filters.md), in the map form the
// control plane emits. The load sends Host: reviews and no x-user/x-canary header, so every
// request walks the whole of each filter's decision: the router tries its rule and falls
// through, the canary draws 90/10, the fault draws 0% delay and 0% abort, telemetry records
// metrics, an access-log line and a new trace.
var filterConfigs = map[string]string{
	"router": `{"services":{"reviews":{"rules":[{"name":"jason","match":{"headers":[{"name":"x-user","exact":"jason"}]},"destination":{"version":"v2"}}]}}}`,
	"canary": `{"services":{"reviews":{"weights":{"v1":90,"v2":10},` +
		`"overrides":[{"match":{"headers":[{"name":"x-canary","exact":"always"}]},"version":"v2"}],` +
		`"responseHeader":"x-wasmesh-version"}}}`,
	"fault": `{"services":{"reviews":{"rules":[{"name":"all","delay":{"fixed":"200ms","percentage":0},"abort":{"httpStatus":503,"percentage":0}}]}}}`,
	"telemetry": `{"services":{"reviews":{"metrics":{"dimensions":["source_service","destination_service","destination_version","method","response_code_class"]},` +
		`"accessLog":{"sampling":100},"tracing":{"startWhenAbsent":true}}}}`,
}

// chainOrder is the sidecar chain (docs/conventions.md).
var chainOrder = []string{"telemetry", "fault", "router", "canary"}

// scenario is one Envoy configuration under load.
type scenario struct {
	Name string
	What string
	// config renders the Envoy bootstrap listening on port, with upstream at upstream.
	config func(port int, upstream string, dir string) ([]byte, error)
}

func scenarios(buildDir string) []scenario {
	wasm := func(name string) e2e.WasmFilter {
		return e2e.WasmFilter{Name: name, File: filepath.Join(buildDir, name+".wasm"), Config: filterConfigs[name]}
	}
	static := func(filters ...e2e.WasmFilter) func(int, string, string) ([]byte, error) {
		return func(port int, upstream, _ string) ([]byte, error) {
			return e2e.StaticConfig{ListenPort: port, Filters: filters, DefaultCluster: "reviews|v1",
				Clusters: []e2e.Cluster{{Name: "reviews|v1", Address: upstream}, {Name: "reviews|v2", Address: upstream}}}.YAML()
		}
	}
	var separate, bundle []e2e.WasmFilter
	for _, n := range chainOrder {
		separate = append(separate, wasm(n))
		bundle = append(bundle, e2e.WasmFilter{Name: n, File: filepath.Join(buildDir, "wasmesh.wasm"), RootID: n, VMID: "wasmesh", Config: filterConfigs[n]})
	}
	out := []scenario{
		{Name: "bare", What: "Envoy router only (no filters)", config: static()},
		{Name: "native", What: "native Envoy doing the chain's job: header-match route, 90/10 weighted clusters, fault filter at 0%, JSON access log, native stats", config: nativeConfig},
		{Name: "go-noop", What: "a Go proxy-wasm filter that does nothing (testdata/plugins/noop): the fixed cost of any Go-compiled filter", config: static(e2e.WasmFilter{Name: "noop", File: filepath.Join(buildDir, "noop.wasm")})},
	}
	for _, n := range chainOrder {
		out = append(out, scenario{Name: n, What: "wasmesh " + n + " alone (" + n + ".wasm)", config: static(wasm(n))})
	}
	var stages []chain.StageConfig
	for _, n := range chainOrder {
		stages = append(stages, chain.StageConfig{Filter: n, Config: []byte(filterConfigs[n])})
	}
	pipeline := func(env map[string]string) func(int, string, string) ([]byte, error) {
		return static(e2e.WasmFilter{Name: "chain", File: filepath.Join(buildDir, "wasmesh.wasm"), RootID: chain.RootID, VMID: "wasmesh",
			Config: string(chain.Marshal(stages)), Env: env})
	}
	out = append(out,
		scenario{Name: "chain-separate", What: "full chain, four modules (four VMs per worker)", config: static(separate...)},
		scenario{Name: "chain-bundle", What: "full chain, bundle wasmesh.wasm, four filters (one VM per worker)", config: static(bundle...)},
		scenario{Name: "chain-pipeline", What: "full chain, bundle wasmesh.wasm, one filter running the four as stages (root_id chain; what the control plane emits)", config: pipeline(nil)},
		scenario{Name: "chain-pipeline-resilience", What: "chain-pipeline with the clusters and routes the control plane emits for the mesh's default resilience policy: aggregate failover clusters, outlier detection, retries split by method (bench/resilience.go)",
			config: func(port int, upstream, dir string) ([]byte, error) {
				b, err := pipeline(nil)(port, upstream, dir)
				if err != nil {
					return nil, err
				}
				return withResilience(b)
			}},
		scenario{Name: "chain-pipeline-gogc400", What: "chain-pipeline with GOGC=400 in the VM's environment (vm_config.environment_variables): the Go GC runs a quarter as often", config: pipeline(map[string]string{"GOGC": "400"})},
		scenario{Name: "chain-pipeline-gogc-off", What: "chain-pipeline with GOGC=off and GOMEMLIMIT=64MiB: the Go GC runs only when the VM's heap nears 64 MiB", config: pipeline(map[string]string{"GOGC": "off", "GOMEMLIMIT": "64MiB"})},
	)
	return out
}

type obj = map[string]any

func sock(hostport string) obj {
	h, p, _ := net.SplitHostPort(hostport)
	n, _ := strconv.Atoi(p)
	return obj{"socket_address": obj{"address": h, "port_value": n}}
}

// nativeConfig is the native-Envoy equivalent of the full chain.
func nativeConfig(port int, upstream, dir string) ([]byte, error) {
	cluster := func(name string) obj {
		return obj{"name": name, "type": "STATIC", "connect_timeout": "1s",
			"load_assignment": obj{"cluster_name": name, "endpoints": []any{obj{"lb_endpoints": []any{obj{"endpoint": obj{"address": sock(upstream)}}}}}}}
	}
	versionHeader := func(v string) []any {
		return []any{obj{"header": obj{"key": "x-wasmesh-version", "value": v}}}
	}
	routes := []any{
		obj{"name": "jason", "match": obj{"prefix": "/", "headers": []any{obj{"name": "x-user", "string_match": obj{"exact": "jason"}}}},
			"route": obj{"cluster": "reviews|v2"}},
		obj{"name": "canary-always", "match": obj{"prefix": "/", "headers": []any{obj{"name": "x-canary", "string_match": obj{"exact": "always"}}}},
			"route": obj{"cluster": "reviews|v2"}},
		obj{"name": "split", "match": obj{"prefix": "/"}, "route": obj{"weighted_clusters": obj{"clusters": []any{
			obj{"name": "reviews|v1", "weight": 90, "response_headers_to_add": versionHeader("v1")},
			obj{"name": "reviews|v2", "weight": 10, "response_headers_to_add": versionHeader("v2")},
		}}}},
	}
	fault := obj{
		"@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
		"delay": obj{"fixed_delay": "0.2s", "percentage": obj{"numerator": 0, "denominator": "HUNDRED"}},
		"abort": obj{"http_status": 503, "percentage": obj{"numerator": 0, "denominator": "HUNDRED"}},
	}
	accessLog := obj{"name": "envoy.access_loggers.file", "typed_config": obj{
		"@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
		"path":  filepath.Join(dir, "access.log"),
		"log_format": obj{"json_format": obj{
			"time": "%START_TIME%", "method": "%REQ(:METHOD)%", "path": "%REQ(:PATH)%", "authority": "%REQ(:AUTHORITY)%",
			"status": "%RESPONSE_CODE%", "duration_ms": "%DURATION%", "request_bytes": "%BYTES_RECEIVED%",
			"response_bytes": "%BYTES_SENT%", "upstream_cluster": "%UPSTREAM_CLUSTER%", "request_id": "%REQ(X-REQUEST-ID)%"}}}}
	hcm := obj{
		"@type":        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
		"stat_prefix":  "native",
		"access_log":   []any{accessLog},
		"route_config": obj{"name": "local", "virtual_hosts": []any{obj{"name": "reviews", "domains": []any{"*"}, "routes": routes}}},
		"http_filters": []any{
			obj{"name": "envoy.filters.http.fault", "typed_config": fault},
			obj{"name": "envoy.filters.http.router", "typed_config": obj{"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
		},
	}
	cfg := obj{
		"admin": obj{"address": sock("127.0.0.1:0")},
		"static_resources": obj{
			"listeners": []any{obj{"name": "main", "address": sock(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))),
				"filter_chains": []any{obj{"filters": []any{obj{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}}}}}},
			"clusters": []any{cluster("reviews|v1"), cluster("reviews|v2")},
		},
		"stats_config": obj{"stats_tags": e2e.StatsTags()},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("native config: %w", err)
	}
	return b, nil
}

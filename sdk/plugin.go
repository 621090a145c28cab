package sdk

import (
	"errors"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"

	"github.com/wasmesh/wasmesh/sdk/conventions"
)

// RoutingHeader is the request header the outbound route takes the cluster from
// (`<service>|<version>`, docs/conventions.md).
const RoutingHeader = conventions.RoutingHeader

// Configure reads the plugin configuration and hands it to configure. A failure is logged at
// critical level as one line, `<name>: invalid configuration: <problem>; <problem>...` (each
// problem names its JSON path), and the plugin refuses to start. Call it from OnPluginStart.
func Configure(name string, configure func(data []byte) error) types.OnPluginStartStatus {
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCritical(name + ": read plugin configuration: " + err.Error())
		return types.OnPluginStartStatusFailed
	}
	if err := configure(data); err != nil {
		proxywasm.LogCritical(name + ": invalid configuration: " + OneLine(err))
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

// OneLine joins a multi-line (errors.Join) error into one line, problems separated by "; ".
func OneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// ClearRouteCache makes Envoy pick the route again after a filter changed what routing
// depends on (the routing header, the path): Envoy caches the route at chain start and a Wasm
// filter's header change does not reset it by itself (envoy PR #36671).
func ClearRouteCache() error {
	_, err := proxywasm.CallForeignFunction("clear_route_cache", nil)
	return err
}

// RequestFromHost reads the request headers (one host call) into a Request view.
func RequestFromHost() (Request, error) {
	hs, err := proxywasm.GetHttpRequestHeaders()
	if err != nil {
		return Request{}, err
	}
	return RequestFromHeaders(hs), nil
}

// RequestFromHeaders splits a header list as the host gives it (pseudo-headers included)
// into a Request view. The slice is reused for Headers.
func RequestFromHeaders(hs [][2]string) Request {
	var r Request
	n := 0
	for _, kv := range hs {
		if len(kv[0]) > 0 && kv[0][0] == ':' {
			switch kv[0] {
			case ":method":
				r.Method = kv[1]
			case ":path":
				r.Path = kv[1]
			case ":authority":
				r.Authority = kv[1]
			case ":scheme":
				r.Scheme = kv[1]
			}
			continue
		}
		hs[n] = kv
		n++
	}
	r.Headers = hs[:n]
	if r.Authority == "" {
		r.Authority, _ = r.Headers.Get("host")
	}
	return r
}

package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/testenv"
)

// What stock Envoy 1.40 does when a Wasm filter sets the routing header after the route was
// picked (DESIGN.md, "Route cache"; testenv must model the same). The route is picked before
// the plugin runs (the plugin reads xds.route_name = "default"), the plugin then writes
// x-wasmesh-cluster: reviews|v2. Measured here: Envoy serves the request from reviews|v2 with
// and without the clear_route_cache foreign call, i.e. a Wasm request-header change re-picks
// the route in this Envoy. The filters call clear_route_cache anyway (harmless here, required
// where automatic clearing is off).
func TestEnvoyRouteCache(t *testing.T) {
	m := startMesh(t, []WasmFilter{{Name: "setroute", File: wasm(t, "setroute")}})
	tests := []struct {
		name       string
		headers    map[string]string
		servedBy   string
		routeFirst string
	}{
		{"no routing header: default route", nil, "reviews-v1", "default"},
		{"header set, clear_route_cache called", map[string]string{"x-want": "reviews|v2", "x-clear": "1"}, "reviews-v2", "default"},
		{"header set, clear_route_cache not called", map[string]string{"x-want": "reviews|v2"}, "reviews-v2", "default"},
		{"header present from the client", map[string]string{testenv.RoutingHeader: "reviews|v2"}, "reviews-v2", "routing-header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := m.get(t, "/", tt.headers)
			require.Equal(t, http.StatusOK, r.status, r.body)
			require.Equal(t, tt.routeFirst, r.header.Get("x-route-before"), "route picked before the plugin ran")
			require.Equal(t, tt.servedBy, r.servedBy)
		})
	}
}

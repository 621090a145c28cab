package bootstrap

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// The checked-in envoy-configs/sidecar.yaml is exactly Render(Defaults()).
func TestCheckedInSidecarIsRendered(t *testing.T) {
	want, err := Render(Defaults())
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(repoRoot(t), "envoy-configs", "sidecar.yaml"))
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "regenerate with: go run ./envoy-configs/render > envoy-configs/sidecar.yaml")
}

func TestRender(t *testing.T) {
	p := Params{
		Service: "reviews", Version: "v2",
		AppAddress: "127.0.0.1:9080", InboundAddress: "127.0.0.1:15006", OutboundAddress: "127.0.0.1:15001",
		AdminAddress: "127.0.0.1:19000", XDSAddress: "10.0.0.1:28000", ModulesAddress: "10.0.0.1:28001",
	}
	out, err := Render(p)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(out, &doc))
	node := doc["node"].(map[string]any)
	require.Equal(t, "reviews.v2.0", node["id"])
	require.Equal(t, "reviews", node["cluster"])
	require.Equal(t, map[string]any{
		"service": "reviews", "version": "v2", "app_address": "127.0.0.1:9080",
		"inbound_address": "127.0.0.1:15006", "outbound_address": "127.0.0.1:15001", "admin_address": "127.0.0.1:19000",
	}, node["metadata"])
	require.Equal(t, map[string]any{"socket_address": map[string]any{"address": "127.0.0.1", "port_value": float64(19000)}},
		doc["admin"].(map[string]any)["address"])
	s := string(out)
	require.Contains(t, s, `{address: "10.0.0.1", port_value: 28000}`)
	require.Contains(t, s, `{address: "10.0.0.1", port_value: 28001}`)
	tags := doc["stats_config"].(map[string]any)["stats_tags"].([]any)
	require.Len(t, tags, len(TagKeys()))
	require.Equal(t, map[string]any{"tag_name": "destination_version", "regex": "(;destination_version=([^;]*))"}, tags[3])
}

// Several control-plane replicas: every address is an endpoint of the xDS and modules
// clusters; a host name (a Kubernetes Service) makes the cluster STRICT_DNS.
func TestRenderReplicas(t *testing.T) {
	p := Params{
		Service: "reviews", Version: "v2",
		AppAddress: "127.0.0.1:9080", InboundAddress: "127.0.0.1:15006", OutboundAddress: "127.0.0.1:15001",
		XDSAddress: "10.0.0.1:18000, 10.0.0.2:18000", ModulesAddress: "wasmesh-controlplane.wasmesh-system.svc:18001",
	}
	out, err := Render(p)
	require.NoError(t, err)
	var doc struct {
		StaticResources struct {
			Clusters []struct {
				Name           string `json:"name"`
				Type           string `json:"type"`
				LoadAssignment struct {
					Endpoints []struct {
						LbEndpoints []map[string]any `json:"lb_endpoints"`
					} `json:"endpoints"`
				} `json:"load_assignment"`
			} `json:"clusters"`
		} `json:"static_resources"`
	}
	require.NoError(t, yaml.Unmarshal(out, &doc))
	cl := doc.StaticResources.Clusters
	require.Equal(t, "wasmesh-xds", cl[0].Name)
	require.Equal(t, "STATIC", cl[0].Type)
	require.Len(t, cl[0].LoadAssignment.Endpoints[0].LbEndpoints, 2)
	require.Contains(t, string(out), `{address: "10.0.0.2", port_value: 18000}`)
	require.Equal(t, "STRICT_DNS", cl[1].Type)
	require.Contains(t, string(out), `{address: "wasmesh-controlplane.wasmesh-system.svc", port_value: 18001}`)

	p.XDSAddress = "10.0.0.1:18000,cp:x"
	_, err = Render(p)
	require.EqualError(t, err, `bootstrap: xdsAddress[1]: "cp:x" is not host:port with a port in 1..65535`)
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		params Params
		want   string
	}{
		{"empty", Params{}, "bootstrap: service: required\nversion: required\nnodeID: required (default needs service and version)\n" +
			"appAddress: required\ninboundAddress: required\noutboundAddress: required"},
		{"bad names and addresses", Params{Service: "Reviews", Version: "v2", AppAddress: "9080", InboundAddress: "127.0.0.1:0",
			OutboundAddress: "127.0.0.1:15001", XDSAddress: "cp:x", TagKeys: []string{"ok", "Bad-Key"}},
			"bootstrap: service: \"Reviews\" is not a lowercase DNS label\nappAddress: address 9080: missing port in address\n" +
				"inboundAddress: \"127.0.0.1:0\" is not host:port with a port in 1..65535\n" +
				"xdsAddress: \"cp:x\" is not host:port with a port in 1..65535\n" +
				"tagKeys[1]: \"Bad-Key\" is not a metric tag key ([a-z_][a-z0-9_]*)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(tt.params)
			require.EqualError(t, err, tt.want)
			require.Error(t, tt.params.Validate())
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"WASMESH_SERVICE": "ratings", "WASMESH_VERSION": "v1", "WASMESH_NODE_ID": "ratings.v1.3",
		"WASMESH_APP_ADDRESS": "127.0.0.1:1", "WASMESH_INBOUND_ADDRESS": "127.0.0.1:2", "WASMESH_OUTBOUND_ADDRESS": "127.0.0.1:3",
		"WASMESH_ADMIN_ADDRESS": "127.0.0.1:4", "WASMESH_XDS_ADDRESS": "127.0.0.1:5", "WASMESH_MODULES_ADDRESS": "127.0.0.1:6",
		"WASMESH_XDS_TOKEN": "wxds1.x.y",
	}
	require.Len(t, envVars, len(env))
	p := FromEnv(Defaults(), func(k string) string { return env[k] })
	require.Equal(t, Params{NodeID: "ratings.v1.3", Service: "ratings", Version: "v1",
		AppAddress: "127.0.0.1:1", InboundAddress: "127.0.0.1:2", OutboundAddress: "127.0.0.1:3",
		AdminAddress: "127.0.0.1:4", XDSAddress: "127.0.0.1:5", ModulesAddress: "127.0.0.1:6", XDSToken: "wxds1.x.y"}, p)
	// Unset variables keep the given values.
	require.Equal(t, Defaults(), FromEnv(Defaults(), func(string) string { return "" }))
	out, err := Render(p)
	require.NoError(t, err)
	require.True(t, strings.Contains(string(out), `id: "ratings.v1.3"`))
	require.True(t, strings.Contains(string(out), `- {key: authorization, value: "Bearer wxds1.x.y"}`), "%s", out)
	p.XDSToken = "a b"
	require.EqualError(t, p.Validate(), "xdsToken: contains whitespace or quotes; pass the output of `wasmesh credential <node id>` as is")
}

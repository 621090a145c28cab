package sandbox

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/internal/bootstrap"
	"github.com/wasmesh/wasmesh/internal/envoybin"
)

// staticPlane stands in for the control plane: it applies nothing and reports every node of the
// topology as ACKed, so the sandbox's process handling can be tested with sidecars whose
// routing is static (staticMesh) instead of pushed over xDS.
type staticPlane struct {
	t       Topology
	applied []string
	closed  bool
}

func (p *staticPlane) Apply(_ context.Context, paths []string) ([]string, error) {
	p.applied = append(p.applied, paths...)
	return []string{"service/reviews created"}, nil
}

func (p *staticPlane) Nodes(context.Context) ([]NodeState, error) {
	var out []NodeState
	for _, in := range p.t.Instances {
		out = append(out, NodeState{ID: in.NodeID(), Acked: true})
	}
	return out, nil
}

func (p *staticPlane) Home() string { return "/nonexistent" }

func (p *staticPlane) Credential(context.Context, string) (string, error) { return "", nil }
func (p *staticPlane) Close() error                                       { p.closed = true; return nil }

// staticMesh renders a sidecar config with the mesh's routing written statically in native
// Envoy terms: inbound → the app; outbound by Host to each service's default version, with
// `x-canary: always` sending reviews to v2.
func staticMesh(t Topology) BootstrapFunc {
	return func(p bootstrap.Params) ([]byte, error) {
		split := func(a string) map[string]string {
			h, port, _ := net.SplitHostPort(a)
			return map[string]string{"Host": h, "Port": port}
		}
		type cluster struct {
			Name string
			Addr map[string]string
		}
		clusters := []cluster{{"inbound|app", split(p.AppAddress)}}
		for _, in := range t.Instances {
			clusters = append(clusters, cluster{in.Service + "|" + in.Version, split(in.InboundAddress())})
		}
		var buf bytes.Buffer
		err := staticTmpl.Execute(&buf, map[string]any{
			"P": p, "Admin": split(p.AdminAddress), "In": split(p.InboundAddress), "Out": split(p.OutboundAddress),
			"Services": t.Services(), "Clusters": clusters,
		})
		return buf.Bytes(), err
	}
}

var staticTmpl = template.Must(template.New("static").Parse(`
node: {id: "{{.P.NodeID}}", cluster: "{{.P.Service}}"}
admin: {address: {socket_address: {address: "{{.Admin.Host}}", port_value: {{.Admin.Port}}}}}
static_resources:
  listeners:
  - name: inbound
    address: {socket_address: {address: "{{.In.Host}}", port_value: {{.In.Port}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: inbound
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
          route_config:
            virtual_hosts: [{name: app, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: "inbound|app"}}]}]
  - name: outbound
    address: {socket_address: {address: "{{.Out.Host}}", port_value: {{.Out.Port}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound
          http_filters: [{name: envoy.filters.http.router, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]
          route_config:
            virtual_hosts:
{{- range .Services}}
            - name: {{.}}
              domains: ["{{.}}", "{{.}}:*"]
              routes:
              - {match: {prefix: /, headers: [{name: x-canary, string_match: {exact: always}}]}, route: {cluster: "{{.}}|{{if eq . "reviews"}}v2{{else}}v1{{end}}"}}
              - {match: {prefix: /}, route: {cluster: "{{.}}|v1"}}
{{- end}}
  clusters:
{{- range .Clusters}}
  - name: "{{.Name}}"
    type: STATIC
    connect_timeout: 1s
    load_assignment: {cluster_name: "{{.Name}}", endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: "{{.Addr.Host}}", port_value: {{.Addr.Port}}}}}}]}]}
{{- end}}
`))

// TestSandboxLifecycle runs the sandbox's whole process lifecycle with real Envoy sidecars whose
// routing is static (no xDS): start, readiness, the frontend answering through every hop,
// what-to-try output, then Stop leaving no process, no bound port and no temporary directory.
func TestSandboxLifecycle(t *testing.T) {
	bin, err := envoybin.Find("")
	if err != nil {
		t.Fatalf("%v (make test installs it)", err)
	}
	base := freeBase(t)
	top := NewTopology(base)
	plane := &staticPlane{t: top}
	var out strings.Builder
	sb, err := Start(t.Context(), Options{
		BasePort: base, Root: "..", Envoy: bin.Path, NoBuild: true, Out: &out, ReadyTimeout: testReadyTimeout,
		ControlPlane: func(context.Context, Topology, string, string) (ControlPlane, error) { return plane, nil },
		Bootstrap:    staticMesh(top),
	})
	require.NoError(t, err, out.String())
	defer sb.Stop()
	require.Len(t, plane.applied, 1+len(startupFiles))
	require.Contains(t, out.String(), "✓ the frontend answers through the mesh")

	url := "http://" + top.Frontend().InboundAddress() + "/"
	for range 20 {
		rep, _ := get(t, url, map[string]string{"x-request-id": "lifecycle"})
		require.Equal(t, []string{"frontend:v1", "reviews:v1", "ratings:v1"}, rep.Versions())
		require.Equal(t, "lifecycle", rep.Hop("ratings").RequestID)
	}
	rep, _ := get(t, url, map[string]string{"x-canary": "always"})
	require.Equal(t, []string{"frontend:v1", "reviews:v2", "ratings:v1"}, rep.Versions())

	// Break things through the control endpoint, as `wasmesh sandbox kill|restart` does: the
	// rest keeps running, and what was killed comes back.
	ctx := t.Context()
	running := func(target string) bool {
		parts, err := List(ctx, base)
		require.NoError(t, err)
		for _, p := range parts {
			if p.Target == target {
				return p.Running
			}
		}
		t.Fatalf("no %s in %+v", target, parts)
		return false
	}
	require.NoError(t, Control(ctx, base, "kill", "reviews.v1.0"))
	require.False(t, running("reviews.v1.0"))
	require.True(t, running("reviews.v2.0"))
	rep, _ = get(t, url, map[string]string{"x-canary": "always"}) // v2's path is untouched
	require.Equal(t, []string{"frontend:v1", "reviews:v2", "ratings:v1"}, rep.Versions())
	require.NoError(t, Control(ctx, base, "restart", "reviews.v1.0"))
	require.True(t, running("reviews.v1.0"))
	rep, _ = get(t, url, nil)
	require.Equal(t, []string{"frontend:v1", "reviews:v1", "ratings:v1"}, rep.Versions())

	require.NoError(t, Control(ctx, base, "kill", "ratings.v1.0/app"))
	require.False(t, running("ratings.v1.0/app"))
	rep, _ = get(t, url, nil)
	require.Equal(t, http.StatusServiceUnavailable, rep.Hop("reviews").Status, "ratings' app is dead: its sidecar answers 503")
	require.NoError(t, Control(ctx, base, "restart", "ratings.v1.0/app"))
	rep, _ = get(t, url, nil)
	require.Empty(t, rep.Hop("reviews").Error)

	require.NoError(t, Control(ctx, base, "kill", TargetControlPlane))
	require.True(t, plane.closed)
	require.False(t, running(TargetControlPlane))
	rep, _ = get(t, url, nil) // the sidecars keep serving without it
	require.Equal(t, []string{"frontend:v1", "reviews:v1", "ratings:v1"}, rep.Versions())
	plane.closed = false
	require.NoError(t, Control(ctx, base, "restart", TargetControlPlane))
	require.True(t, running(TargetControlPlane))

	err = Control(ctx, base, "kill", "reviews.v9.0")
	require.ErrorContains(t, err, `unknown target "reviews.v9.0": use a node id (frontend.v1.0, reviews.v1.0, reviews.v2.0, reviews.v3.0, ratings.v1.0), <node id>/app for its demo app, or controlplane`)
	require.Contains(t, out.String(), "! sidecar reviews.v1.0 killed (SIGKILL)")
	require.Contains(t, out.String(), "✓ sidecar reviews.v1.0 restarted")
	require.Contains(t, out.String(), "! control plane killed")

	sb.PrintTry()
	require.Contains(t, out.String(), "curl -s 127.0.0.1:"+itoa(base+10)+"/")
	require.Contains(t, out.String(), "WASMESH_SERVER=http://127.0.0.1:"+itoa(base+1))

	pids, dir := sb.Pids(), sb.DataDir()
	require.NoError(t, sb.Stop())
	require.True(t, plane.closed)
	for _, pid := range pids {
		require.True(t, errors.Is(syscall.Kill(pid, 0), syscall.ESRCH), "envoy pid %d still exists", pid)
	}
	require.NoError(t, checkPorts(top))
	_, err = os.Stat(dir)
	require.True(t, errors.Is(err, os.ErrNotExist), "temporary data dir %s left behind", dir)
}

func itoa(n int) string { return strconv.Itoa(n) }

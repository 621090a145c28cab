package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/crd/crdtest"
	"github.com/wasmesh/wasmesh/controlplane/store"
	"github.com/wasmesh/wasmesh/internal/memmodules"
)

// testStatus is a fixed picture of two nodes. With lagging set, neither has been rebuilt
// from any apply yet (node revision 0).
type testStatus struct{ lagging bool }

func (ts testStatus) Nodes() []api.SidecarStatus {
	rev := uint64(1 << 30)
	if ts.lagging {
		rev = 0
	}
	return []api.SidecarStatus{
		{ID: "frontend.v1.0", Service: "frontend", Version: "v1", Connected: true, Revision: rev, Types: []api.TypeStatus{
			{Type: "listeners", Acked: "4", Sent: "4"},
			{Type: "extension_configs", Acked: "3", Sent: "4", Pending: true},
		}},
		{ID: "reviews.v2.0", Service: "reviews", Version: "v2", Connected: true, Revision: rev, Types: []api.TypeStatus{
			{Type: "listeners", Acked: "4", Sent: "4"},
			{Type: "extension_configs", Acked: "3", Sent: "4", NACK: "wasm: plugin failed to configure", NACKVersion: "4"},
		}},
	}
}

func (testStatus) ObservedGeneration(crd.Key) int64 { return 0 }

func (testStatus) ResourceNodes(key crd.Key, _ int64) []crd.NodeStatus {
	if key.Kind == crd.KindFaultInjection {
		return []crd.NodeStatus{{Node: "frontend.v1.0", State: crd.Acked}, {Node: "reviews.v1.0", State: crd.Pending}}
	}
	if key.Kind != crd.KindTrafficRoute {
		return nil
	}
	return []crd.NodeStatus{{Node: "frontend.v1.0", State: crd.Acked}, {Node: "reviews.v2.0", State: crd.NACKed, Error: "wasm: plugin failed to configure"}}
}

// cli runs wasmesh commands in-process against an API server over httptest.
type cli struct {
	t     *testing.T
	args  []string
	store *store.Store
}

func newCLI(t *testing.T) *cli { t.Helper(); return newCLIStatus(t, testStatus{}) }

func newCLIStatus(t *testing.T, status api.StatusSource) *cli {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	dataDir := t.TempDir()
	token, err := api.EnsureToken(dataDir)
	require.NoError(t, err)
	mods := &memmodules.Store{}
	adm := admission.New(admission.Config{Store: st, Modules: admission.FetchModules(mods, admission.FetchOptions{})})
	srv, err := api.NewServer(api.Config{Store: st, Token: token, Admission: adm, Modules: mods, Status: status})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Setenv("WASMESH_TOKEN", "")
	return &cli{t: t, args: []string{"--server", ts.URL, "--data-dir", dataDir}, store: st}
}

// run runs one command and returns its exit code, stdout and stderr.
func (c *cli) run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append(args, c.args...), &out, &errb)
	return code, out.String(), errb.String()
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

const head = crdtest.Head

const servicesYAML = head + `kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  versions:
  - {name: v1, endpoints: ["127.0.0.1:15101"]}
  - {name: v2, endpoints: ["127.0.0.1:15102"]}
---
` + head + `kind: Service
metadata: {name: ratings}
spec:
  port: 9080
  versions: [{name: v1, endpoints: ["127.0.0.1:15201"]}]
`

const canaryYAML = head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split:
    weights: {v1: 90, v2: 10}
    overrides: [{match: {headers: [{name: x-canary, exact: always}]}, version: v2}]
  timeout: 2s
`

func TestApplyCommand(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	write(t, dir, "10-services.yaml", servicesYAML)
	canary := write(t, dir, "20-canary.yaml", canaryYAML)

	code, out, errOut := c.run("apply", "-f", dir)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "service/reviews created\nservice/ratings created\ntrafficroute/reviews created\n", out)

	code, out, _ = c.run("apply", "-f", canary)
	require.Equal(t, 0, code)
	require.Equal(t, "trafficroute/reviews unchanged\n", out)

	write(t, dir, "20-canary.yaml", strings.Replace(canaryYAML, "90, v2: 10", "80, v2: 20", 1))
	code, out, _ = c.run("apply", "--dry-run", "-f", canary)
	require.Equal(t, 0, code)
	require.Equal(t, "trafficroute/reviews configured (dry run)\n", out)
	code, out, _ = c.run("apply", "-f", canary)
	require.Equal(t, 0, code)
	require.Equal(t, "trafficroute/reviews configured\n", out)

	// stdin
	stdin = strings.NewReader(strings.Replace(canaryYAML, "90, v2: 10", "70, v2: 30", 1))
	t.Cleanup(func() { stdin = os.Stdin })
	code, out, _ = c.run("apply", "-f", "-")
	require.Equal(t, 0, code)
	require.Equal(t, "trafficroute/reviews configured\n", out)
}

func TestApplyCommandRefusesWhole(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	bad := write(t, dir, "canary.yaml", servicesYAML+"---\n"+strings.Replace(canaryYAML, "v2: 10", "v3: 10", 1))

	code, out, errOut := c.run("apply", "-f", bad)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, bad+`:24: document 3 (TrafficRoute "reviews"): spec.split.overrides[0].version: version "v2" is not in weights ([v1 v3])
wasmesh apply: nothing applied (1 problem)
`, errOut)
	set, _, err := c.store.List()
	require.NoError(t, err)
	require.Empty(t, set.Objects())

	// Local decoding problems: all of them, before contacting the server.
	bad2 := write(t, dir, "bad.yaml", strings.Replace(strings.Replace(canaryYAML, "timeout: 2s", "timeout: soon", 1), "service: reviews", "servce: reviews", 1))
	code, _, errOut = c.run("apply", "-f", bad2)
	require.Equal(t, 1, code)
	require.Equal(t, bad2+`:5: document 1 (TrafficRoute "reviews"): spec.servce: unknown field (did you mean "service"?)
`+bad2+`:9: document 1 (TrafficRoute "reviews"): spec.timeout: invalid duration "soon" (use a number and a unit: ms, s, m, h)
wasmesh apply: nothing applied (2 problems)
`, errOut)

	code, _, errOut = c.run("apply")
	require.Equal(t, 2, code)
	require.Equal(t, "wasmesh apply: -f FILE|DIR|- is required\n", errOut)

	code, _, errOut = c.run("apply", "-f", filepath.Join(dir, "missing.yaml"))
	require.Equal(t, 1, code)
	require.Equal(t, "wasmesh apply: nothing applied: stat "+filepath.Join(dir, "missing.yaml")+": no such file or directory\n", errOut)
}

func TestApplyUploadsModuleFiles(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "plugins"), 0o755))
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugins", "key.wasm"), wasm, 0o644))
	sum := sha256.Sum256(wasm)
	plugin := head + `kind: WasmPlugin
metadata: {name: api-key}
spec:
  module: {file: plugins/key.wasm}
  config: {header: x-api-key}
`
	p := write(t, dir, "plugin.yaml", servicesYAML+"---\n"+plugin)
	code, out, errOut := c.run("apply", "-f", p)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "service/reviews created\nservice/ratings created\nwasmplugin/api-key created\n", out)

	code, out, _ = c.run("get", "wp", "api-key", "-o", "json")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"sha256": "`+hex.EncodeToString(sum[:])+`"`)
	require.Contains(t, out, `"file": "plugins/key.wasm"`)

	// `get -o yaml` output applies again as is, from anywhere: module.file is relative to a
	// YAML file that is not there, so the module already stored (sha256) is used.
	code, out, _ = c.run("get", "wp", "api-key", "-o", "yaml")
	require.Equal(t, 0, code)
	stdin = strings.NewReader(out)
	t.Cleanup(func() { stdin = os.Stdin })
	code, applied, errOut := c.run("apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "wasmplugin/api-key unchanged\n", applied)
	require.Equal(t, "<stdin>:13: document 1 (WasmPlugin \"api-key\"): spec.module.file: plugins/key.wasm is not here; using the module already uploaded (sha256 "+hex.EncodeToString(sum[:])[:12]+"…)\n", errOut)

	missing := write(t, dir, "missing.yaml", strings.Replace(plugin, "plugins/key.wasm", "nope.wasm", 1))
	code, _, errOut = c.run("apply", "-f", missing)
	require.Equal(t, 1, code)
	require.Equal(t, missing+":5: document 1 (WasmPlugin \"api-key\"): spec.module.file: open "+filepath.Join(dir, "nope.wasm")+": no such file or directory\nwasmesh apply: nothing applied (1 problem)\n", errOut)
}

func TestGetDeleteStatusCommands(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	code, _, errOut := c.run("apply", "-f", write(t, dir, "all.yaml", servicesYAML+"---\n"+canaryYAML))
	require.Equal(t, 0, code, errOut)

	code, out, _ := c.run("get", "svc")
	require.Equal(t, 0, code)
	require.Equal(t, `NAME     PORT  VERSIONS     DEFAULT  GEN  NODES
ratings  9080  v1(1)        v1       1    -
reviews  9080  v1(1),v2(1)  v1       1    -
`, out)

	code, out, _ = c.run("get", "tr")
	require.Equal(t, 0, code)
	require.Equal(t, `NAME     SERVICE  RULES  SPLIT        TIMEOUT  GEN  NODES
reviews  reviews  0      v1=90,v2=10  2s       1    1/2 acked, 1 nacked
`, out)

	// YAML output applies again unchanged.
	code, out, _ = c.run("get", "trafficroutes", "reviews", "-o", "yaml")
	require.Equal(t, 0, code)
	require.Contains(t, out, "kind: TrafficRoute\n")
	require.Contains(t, out, "generation: 1\n")
	code, applied, errOut := c.run("apply", "-f", write(t, dir, "again.yaml", out))
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "trafficroute/reviews unchanged\n", applied)

	code, _, errOut = c.run("get", "tr", "ratings")
	require.Equal(t, 1, code)
	require.Equal(t, "wasmesh get: TrafficRoute \"ratings\": not found\n", errOut)
	code, _, errOut = c.run("get", "pods")
	require.Equal(t, 2, code)
	require.Equal(t, "wasmesh get: unknown kind \"pods\" (known: Service, TrafficRoute, FaultInjection, Telemetry, WasmPlugin, TransportPolicy, AuthorizationPolicy)\n", errOut)

	code, out, _ = c.run("status")
	require.Equal(t, 0, code)
	require.Equal(t, `store revision 1, 2 node(s); columns LDS..ECDS show the last ACKed version per xDS type

NODE           SERVICE   VERSION  CONNECTED  LDS  RDS  CDS  EDS  ECDS  PENDING
frontend.v1.0  frontend  v1       yes        4    -    -    -    3     extension_configs@4
reviews.v2.0   reviews   v2       yes        4    -    -    -    3!    -

NACKs (! above: the node refused a version and runs its last ACKed one):
  reviews.v2.0 extension_configs version 4: wasm: plugin failed to configure

RESOURCE              GEN  NODES
service/ratings       1    -
service/reviews       1    -
trafficroute/reviews  1    frontend.v1.0 (acked), reviews.v2.0 (nacked: wasm: plugin failed to configure)

from the sidecars' Envoy admin (callers' view of each Service):
SERVICE  EJECTED ENDPOINTS  CIRCUIT-BREAKER OVERFLOWS
-        -                  -
`, out)

	code, _, errOut = c.run("delete", "service", "reviews")
	require.Equal(t, 1, code)
	require.Equal(t, "wasmesh delete: Service \"reviews\" is still referenced by TrafficRoute \"reviews\"; delete or change them first\n", errOut)
	code, out, _ = c.run("delete", "tr", "reviews")
	require.Equal(t, 0, code)
	require.Equal(t, "trafficroute/reviews deleted\n", out)
	code, out, _ = c.run("delete", "svc", "reviews", "ratings")
	require.Equal(t, 0, code)
	require.Equal(t, "service/reviews deleted\nservice/ratings deleted\n", out)
	code, _, errOut = c.run("get", "svc")
	require.Equal(t, 0, code)
	require.Equal(t, "no Service resources\n", errOut)
}

func TestClientToken(t *testing.T) {
	c := newCLI(t)
	code, _, errOut := run2([]string{"status", "--server", strings.TrimPrefix(c.args[1], "http://"), "--data-dir", t.TempDir()})
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "wasmesh status: no API token: set $WASMESH_TOKEN or --token")

	code, _, errOut = run2([]string{"status", "--server", c.args[1], "--token", "wrong", "--data-dir", t.TempDir()})
	require.Equal(t, 1, code)
	require.Equal(t, "wasmesh status: missing or wrong bearer token (set $WASMESH_TOKEN or --token; `wasmesh serve` writes it to <data dir>/token)\n", errOut)

	token, err := api.ReadToken(c.args[3])
	require.NoError(t, err)
	t.Setenv("WASMESH_TOKEN", token)
	code, _, errOut = run2([]string{"status", "--server", strings.TrimPrefix(c.args[1], "http://"), "--data-dir", t.TempDir()})
	require.Equal(t, 0, code, errOut)
}

func run2(args []string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestApplyWait(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	code, out, errOut := c.run("apply", "--wait", "5s", "-f", write(t, dir, "s.yaml", servicesYAML))
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `^service/reviews created\nservice/ratings created\nacked by 0 node\(s\) in \S+\n$`, out)

	code, _, errOut = c.run("apply", "--wait", "5s", "-f", write(t, dir, "c.yaml", canaryYAML))
	require.Equal(t, 1, code)
	require.Equal(t, "wasmesh apply: applied, but refused by Envoy:\n  trafficroute/reviews: reviews.v2.0 refused it: wasm: plugin failed to configure\n", errOut)

	code, _, errOut = c.run("apply", "--wait", "300ms", "-f", write(t, dir, "f.yaml", head+"kind: FaultInjection\nmetadata: {name: ratings}\nspec: {service: ratings, triggerHeader: {enabled: true}}\n"))
	require.Equal(t, 1, code)
	require.Equal(t, "wasmesh apply: applied, but 1 node(s) have not ACKed after 300ms (see wasmesh status)\n", errOut)
}

// --wait does not end before the control plane has rebuilt the nodes from the apply: a node
// still on an older revision cannot show the new resources yet, so it counts as pending.
func TestApplyWaitForTranslation(t *testing.T) {
	c := newCLIStatus(t, testStatus{lagging: true})
	code, out, errOut := c.run("apply", "--wait", "300ms", "-f", write(t, t.TempDir(), "s.yaml", servicesYAML))
	require.Equal(t, 1, code)
	require.Equal(t, "service/reviews created\nservice/ratings created\n", out)
	require.Equal(t, "wasmesh apply: applied, but 2 node(s) have not ACKed after 300ms (see wasmesh status)\n", errOut)
}

// Service names are mesh-wide (docs/crds.md, Service): the same name in another namespace
// is refused at apply, naming the field, and nothing is stored.
func TestApplyRefusesServiceNameInAnotherNamespace(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	code, _, errOut := c.run("apply", "-f", write(t, dir, "svc.yaml", servicesYAML))
	require.Equal(t, 0, code, errOut)
	other := write(t, dir, "other.yaml", strings.Replace(servicesYAML, "metadata: {name: reviews}", "metadata: {name: reviews, namespace: books}", 1))
	code, out, errOut := c.run("apply", "-f", other)
	require.Equal(t, 1, code, out)
	require.Contains(t, errOut, `metadata.name: a Service named "reviews" already exists in namespace "default" (service names are mesh-wide)`)
	require.Contains(t, errOut, "nothing applied")
	code, out, _ = c.run("get", "svc", "-A")
	require.Equal(t, 0, code)
	require.NotContains(t, out, "books")
}

package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
)

var update = flag.Bool("update", false, "rewrite testdata/*.out.yaml from the translator's output")

const (
	bundleSHA  = "b000000000000000000000000000000000000000000000000000000000000001"
	modulesURL = "http://127.0.0.1:18001"
)

// testCase is a testdata/<case>.in.yaml: resources, with the node and the modules in header
// comments (`# node: <service> <version> [app=..] [inbound=..] [outbound=..]`,
// `# modules: bundle|standalone|none`).
type testCase struct {
	set  *crd.Set
	node Node
	opts Options
}

func loadCase(t testing.TB, data []byte) testCase {
	t.Helper()
	tc := testCase{
		node: Node{ID: "frontend.v1.0", Service: "frontend", Version: "v1",
			AppAddress: "127.0.0.1:8080", InboundAddress: "127.0.0.1:15006", OutboundAddress: "127.0.0.1:15001"},
		opts: Options{ModulesURL: modulesURL, Builtins: map[string]string{BundleFile: bundleSHA}},
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "# node: "); ok {
			f := strings.Fields(v)
			tc.node.Service, tc.node.Version = f[0], f[1]
			tc.node.ID = f[0] + "." + f[1] + ".0"
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "app":
					tc.node.AppAddress = v
				case "inbound":
					tc.node.InboundAddress = v
				case "outbound":
					tc.node.OutboundAddress = v
				}
			}
		}
		if v, ok := strings.CutPrefix(line, "# modules: "); ok {
			switch v {
			case "standalone":
				tc.opts.Builtins = map[string]string{}
				for i, f := range Filters() {
					tc.opts.Builtins[f+".wasm"] = fmt.Sprintf("%063x%d", 0, i+1)
				}
			case "none":
				tc.opts.Builtins = nil
			}
		}
	}
	docs, err := crd.Decode("in.yaml", data)
	require.NoError(t, err)
	var objs []crd.Object
	for i, d := range docs {
		d.Object.Meta().Generation = int64(i + 1)
		objs = append(objs, d.Object)
	}
	tc.set = crd.NewSet(objs...)
	return tc
}

// render translates a case and renders the node's resources (or the error) as YAML.
func render(t testing.TB, tc testCase) []byte {
	t.Helper()
	res, err := translate(tc)
	if err != nil {
		return []byte("error: |\n  " + strings.ReplaceAll(err.Error(), "\n", "\n  ") + "\n")
	}
	doc := map[string]any{}
	for _, typ := range TypeNames() {
		var items []any
		for _, m := range res.Messages(typ) {
			items = append(items, protoToAny(t, m))
		}
		doc[typ] = items
	}
	sources := map[string]any{}
	for k, s := range res.Sources() {
		sources[k.String()] = map[string]any{"generation": s.Generation, "types": s.Types}
	}
	doc["sources"] = sources
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	y, err := yaml.JSONToYAML(b)
	require.NoError(t, err)
	return y
}

func translate(tc testCase) (*Resources, error) {
	m, err := Build(tc.set, tc.opts)
	if err != nil {
		return nil, err
	}
	return m.ForNode(tc.node)
}

// protoToAny renders a message through protojson into plain values (protojson's own output
// is deliberately unstable in whitespace).
func protoToAny(t testing.TB, m proto.Message) any {
	t.Helper()
	b, err := protojson.Marshal(m)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.in.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			require.NoError(t, err)
			got := render(t, loadCase(t, data))
			out := strings.TrimSuffix(in, ".in.yaml") + ".out.yaml"
			if *update {
				require.NoError(t, os.WriteFile(out, got, 0o644))
				return
			}
			want, err := os.ReadFile(out)
			require.NoError(t, err, "run go test ./controlplane/translate -update")
			require.Equal(t, string(want), string(got))
		})
	}
}

// Same input, byte-identical output: the resources' deterministic encoding and the versions.
func TestDeterministic(t *testing.T) {
	data, err := os.ReadFile("testdata/full.in.yaml")
	require.NoError(t, err)
	encode := func() []byte {
		// Decode afresh each time, so map iteration order differs between runs.
		res, err := translate(loadCase(t, data))
		require.NoError(t, err)
		var buf bytes.Buffer
		opts := proto.MarshalOptions{Deterministic: true}
		for _, typ := range TypeNames() {
			buf.WriteString(typ + "@" + res.Version(typ) + "\n")
			for _, m := range res.Messages(typ) {
				b, err := opts.Marshal(m)
				require.NoError(t, err)
				buf.Write(b)
			}
		}
		return buf.Bytes()
	}
	first := encode()
	for range 20 {
		require.Equal(t, first, encode())
	}
}

// A configuration change moves only ECDS: the listeners, and with them the VMs, stay put.
func TestConfigChangeKeepsListenerAndVM(t *testing.T) {
	data, err := os.ReadFile("testdata/canary.in.yaml")
	require.NoError(t, err)
	before, err := translate(loadCase(t, data))
	require.NoError(t, err)
	after, err := translate(loadCase(t, bytes.Replace(data, []byte("{v1: 90, v2: 10}"), []byte("{v1: 0, v2: 100}"), 1)))
	require.NoError(t, err)
	for _, typ := range []string{TypeListeners, TypeClusters, TypeEndpoints, TypeRoutes} {
		require.Equal(t, before.Version(typ), after.Version(typ), typ)
	}
	require.NotEqual(t, before.Version(TypeExtensionConfigs), after.Version(TypeExtensionConfigs))
	for i := range before.ExtensionConfigs {
		if !before.ExtensionConfigs[i].TypedConfig.MessageIs(&wasmfilter.Wasm{}) {
			continue // an empty plugin slot
		}
		b, a := wasmOf(t, before.ExtensionConfigs[i]), wasmOf(t, after.ExtensionConfigs[i])
		require.True(t, proto.Equal(b.GetConfig().GetVmConfig(), a.GetConfig().GetVmConfig()), before.ExtensionConfigs[i].Name)
	}
}

// Each built-in filter's JSON is the matching part of the resources' specs, defaults resolved;
// a Service no FaultInjection targets takes no triggered faults (the fault filter's trigger
// header is on by default).
func TestFilterConfigs(t *testing.T) {
	data, err := os.ReadFile("testdata/full.in.yaml")
	require.NoError(t, err)
	policies, err := ir.Build(loadCase(t, data).set, ir.Options{})
	require.NoError(t, err)
	got, err := policies.FilterConfigs()
	require.NoError(t, err)
	require.Equal(t, []string{"canary", "fault", "router", "telemetry"}, slices.Sorted(mapsKeys(got)))
	require.JSONEq(t, `{"services":{
		"ratings":{},
		"reviews":{"weights":{"v1":90,"v2":10},"sticky":{"cookie":"user"}}}}`, string(got["canary"]))
	require.JSONEq(t, `{"services":{
		"ratings":{"rules":[{"name":"slow","match":{"path":{"prefix":"/ratings"}},"delay":{"fixed":"500ms","percentage":10}},
		                    {"name":"flaky","abort":{"httpStatus":503,"grpcStatus":14,"percentage":5.5}}],
		           "triggerHeader":{"enabled":false},"maxActiveDelays":100},
		"reviews":{"triggerHeader":{"enabled":false}}}}`, string(got["fault"]))
	require.JSONEq(t, `{"services":{
		"ratings":{"metrics":{"enabled":false}},
		"reviews":{"metrics":{"enabled":true,"dimensions":["source_service","destination_service"]},
		           "accessLog":{"enabled":true,"sampling":10},
		           "tracing":{"propagate":true,"startWhenAbsent":true}}}}`, string(got["telemetry"]))
	require.JSONEq(t, `{"services":{
		"ratings":{},
		"reviews":{"rules":[{"name":"api-v3","match":{"path":{"prefix":"/v3/"},"method":"GET",
		   "headers":[{"name":"x-user","regex":"^tester-.*"}],"query":[{"name":"debug","present":true}]},
		   "destination":{"version":"v3"},"requestHeaders":{"add":{"x-routed-by":"wasmesh"},"remove":["x-debug"]},
		   "rewrite":{"pathPrefix":"/"}}]}}}`, string(got["router"]))
}

type (
	clusterT = cluster.Cluster
	claT     = endpoint.ClusterLoadAssignment
)

func wasmOf(t testing.TB, c *core.TypedExtensionConfig) *wasmfilter.Wasm {
	t.Helper()
	var w wasmfilter.Wasm
	require.NoError(t, c.TypedConfig.UnmarshalTo(&w))
	return &w
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestCheck(t *testing.T) {
	data, err := os.ReadFile("testdata/full.in.yaml")
	require.NoError(t, err)
	tests := []struct {
		name   string
		mutate func(r *Resources)
		want   string
	}{
		{"consistent", func(*Resources) {}, ""},
		{"ECDS name referenced but not defined", func(r *Resources) {
			r.ExtensionConfigs = slices.DeleteFunc(slices.Clone(r.ExtensionConfigs), func(c *core.TypedExtensionConfig) bool { return c.Name == "wasmesh.chain" })
		},
			`listener "outbound": filter config "wasmesh.chain" is not defined (ECDS)`},
		{"ECDS config nobody uses", func(r *Resources) {
			r.ExtensionConfigs = append(r.ExtensionConfigs, proto.CloneOf(r.ExtensionConfigs[0]))
			r.ExtensionConfigs[len(r.ExtensionConfigs)-1].Name = "wasmesh.stray"
		}, `filter config "wasmesh.stray" is defined but no listener uses it (ECDS)`},
		{"EDS cluster without endpoints", func(r *Resources) { r.Endpoints = r.Endpoints[1:] },
			`cluster "reviews|v1|endpoints": EDS without endpoints`},
		{"aggregate names an unknown member", func(r *Resources) {
			r.Clusters = slices.DeleteFunc(slices.Clone(r.Clusters), func(c *clusterT) bool { return c.Name == "reviews|v3|endpoints" })
			r.Endpoints = slices.DeleteFunc(slices.Clone(r.Endpoints), func(c *claT) bool { return c.ClusterName == "reviews|v3|endpoints" })
		}, "cluster \"reviews|v1\": aggregate member \"reviews|v3|endpoints\" is not defined\n" +
			"cluster \"reviews|v2\": aggregate member \"reviews|v3|endpoints\" is not defined\n" +
			"cluster \"reviews|v3\": aggregate member \"reviews|v3|endpoints\" is not defined"},
		{"route names an unknown cluster", func(r *Resources) {
			r.Clusters = slices.DeleteFunc(slices.Clone(r.Clusters), func(c *clusterT) bool { return c.Name == "reviews|v2" })
			r.Endpoints = slices.DeleteFunc(slices.Clone(r.Endpoints), func(c *claT) bool { return c.ClusterName == "reviews|v2" })
		}, `route "outbound": virtual host "reviews": cluster "reviews|v2" is not defined`},
		{"missing route configuration", func(r *Resources) { r.Routes = nil },
			`listener "outbound": route configuration "outbound" is not defined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := translate(loadCase(t, data))
			require.NoError(t, err)
			tt.mutate(res)
			err = res.Check()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.want)
		})
	}
}

// FuzzTranslate: any resources that pass validation translate without panicking, into
// resources that pass Check, deterministically.
func FuzzTranslate(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.in.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := crd.Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		var objs []crd.Object
		for _, d := range docs {
			objs = append(objs, d.Object)
		}
		set := crd.NewSet(objs...)
		if crd.References(set) != nil {
			return
		}
		tc := loadCase(t, nil)
		tc.set = set
		a, errA := translate(tc)
		b, errB := translate(tc)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("nondeterministic error: %v vs %v", errA, errB)
		}
		var oe *crd.ObjectError
		if errA != nil && !errors.As(errA, &oe) {
			t.Fatalf("valid resources fail to translate: %v", errA)
		}
		if errA != nil {
			return
		}
		for _, typ := range TypeNames() {
			if a.Version(typ) != b.Version(typ) {
				t.Fatalf("%s: nondeterministic", typ)
			}
		}
	})
}

// A re-push after a rejection marks the WasmPlugin configs only: Envoy then builds them again
// (it skips a config equal to one it saw), while the built-in filters' configs, and so their
// VMs, stay as they are.
func TestWithAttempt(t *testing.T) {
	data, err := os.ReadFile("testdata/full.in.yaml")
	require.NoError(t, err)
	res, err := translate(loadCase(t, data))
	require.NoError(t, err)
	again := res.WithAttempt(2)
	require.NotEqual(t, res.Version(TypeExtensionConfigs), again.Version(TypeExtensionConfigs))
	require.Equal(t, res.Version(TypeListeners), again.Version(TypeListeners))
	for i, c := range res.ExtensionConfigs {
		a := again.ExtensionConfigs[i]
		require.Equal(t, c.Name, a.Name)
		if !c.TypedConfig.MessageIs(&wasmfilter.Wasm{}) { // an empty plugin slot
			require.Same(t, c, a, c.Name)
			continue
		}
		w, wa := wasmOf(t, c), wasmOf(t, a)
		if !strings.HasPrefix(w.Config.GetName(), "wasmesh.plugin.") {
			require.Same(t, c, a, c.Name)
			require.False(t, w.Config.GetVmConfig().GetNackOnCodeCacheMiss(), c.Name)
			continue
		}
		require.True(t, wa.Config.GetVmConfig().GetNackOnCodeCacheMiss(), c.Name)
		require.Equal(t, map[string]string{AttemptEnv: "2"}, wa.Config.GetVmConfig().GetEnvironmentVariables().GetKeyValues(), c.Name)
		wa.Config.GetVmConfig().EnvironmentVariables = nil
		require.True(t, proto.Equal(w, wa), c.Name)
	}
	require.Nil(t, wasmOf(t, res.ExtensionConfigs[2]).Config.GetVmConfig().GetEnvironmentVariables(), "the original is untouched")
}

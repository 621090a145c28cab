package chain_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	chainpkg "github.com/wasmesh/wasmesh/filters/chain"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// Outbound chain configs (docs/conventions.md order: telemetry → fault → router → canary).
var chainConfigs = []struct{ name, config string }{
	{"telemetry", `{"services": {"reviews": {"metrics": {"dimensions": ["destination_service", "destination_version", "response_code_class"]}}}}`},
	{"fault", `{"services": {"reviews": {"rules": [{"name": "broken", "match": {"path": {"prefix": "/broken"}}, "abort": {"httpStatus": 503}}]}}}`},
	{"router", `{"services": {"reviews": {"rules": [{"name": "jason", "match": {"headers": [{"name": "x-user", "exact": "jason"}]}, "destination": {"version": "v3"}}]}}}`},
	{"canary", `{"services": {"reviews": {"weights": {"v1": 90, "v2": 10}, "overrides": [{"match": {"headers": [{"name": "x-canary", "exact": "always"}]}, "version": "v2"}], "sticky": {"header": "x-user"}, "responseHeader": "x-wasmesh-version"}}}`},
}

// The three forms of the chain: four standalone modules, four root_ids of the bundle, and
// the pipeline (one plugin, root_id "chain", running the four as stages).
var forms = []string{"separate", "bundle", "pipeline"}

// chain returns the chain's filters in one of its forms.
func chain(t testing.TB, form string) []testenv.Filter {
	if form == "pipeline" {
		var stages []chainpkg.StageConfig
		for _, c := range chainConfigs {
			stages = append(stages, chainpkg.StageConfig{Filter: c.name, Config: []byte(c.config)})
		}
		return []testenv.Filter{{Name: "chain", Module: filtertest.Module(t, "wasmesh"), RootID: chainpkg.RootID, Config: chainpkg.Marshal(stages)}}
	}
	var out []testenv.Filter
	for _, c := range chainConfigs {
		f := testenv.Filter{Name: c.name, Config: []byte(c.config)}
		if form == "bundle" {
			f.Module, f.RootID = filtertest.Module(t, "wasmesh"), c.name
		} else {
			f.Module = filtertest.Module(t, c.name)
		}
		out = append(out, f)
	}
	return out
}

func TestChainWasm(t *testing.T) {
	tests := []struct {
		name        string
		req         testenv.Request
		wantStatus  int
		wantCluster string // "" = no upstream
		wantVersion string // x-wasmesh-version response header
	}{
		{"router rule wins over the canary", testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", "jason"}, {"x-canary", "always"}}}, 200, "reviews|v3", ""},
		{"canary override", testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-canary", "always"}}}, 200, "reviews|v2", "v2"},
		{"fault before routing", testenv.Request{Path: "/broken", Authority: "reviews", Headers: testenv.Headers{{"x-user", "jason"}}}, 503, "", ""},
		{"client routing header cannot pick", testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-cluster", "reviews|v9"}, {"x-canary", "always"}}}, 200, "reviews|v2", "v2"},
		{"other service untouched", testenv.Request{Authority: "ratings"}, 200, "default", ""},
	}
	for _, form := range forms {
		t.Run(form, func(t *testing.T) {
			env := testenvtest.New(t, chain(t, form), testenv.WithStrictRouteCache())
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := env.Do(tt.req)
					require.NoError(t, res.Err)
					require.Equal(t, tt.wantStatus, res.Response.Status)
					if tt.wantCluster == "" {
						require.Nil(t, res.Upstream)
					} else {
						require.Equal(t, tt.wantCluster, res.Upstream.Cluster)
					}
					require.Equal(t, tt.wantVersion, res.Response.Headers.Get("x-wasmesh-version"))
				})
			}
			m := env.Metrics()
			require.Equal(t, 1.0, m["wasmesh_requests_total;destination_service=reviews;destination_version=v3;response_code_class=2xx"], "%v", m)
			require.Equal(t, 2.0, m["wasmesh_requests_total;destination_service=reviews;destination_version=v2;response_code_class=2xx"], "%v", m)
			require.Equal(t, 1.0, m["wasmesh_requests_total;destination_service=reviews;destination_version=unknown;response_code_class=5xx"], "%v", m)
		})
	}
}

func TestBundleRefusesUnknownRootID(t *testing.T) {
	for _, root := range []string{"routr", ""} {
		t.Run(root, func(t *testing.T) {
			var logs strings.Builder
			env, err := testenvtest.Start(t, []testenv.Filter{{Name: "x", Module: filtertest.Module(t, "wasmesh"), RootID: root}}, testenv.WithLogOutput(&logs))
			if env != nil {
				env.Close()
			}
			require.Error(t, err)
			require.Contains(t, logs.String()+err.Error(), `wasmesh: unknown root_id "`+root+`" (known: authz, canary, chain, fault, router, telemetry)`)
		})
	}
}

// BenchmarkChainStream is the full outbound chain per request, bundle vs separate modules.
func BenchmarkChainStream(b *testing.B) {
	for _, form := range forms {
		b.Run(form, func(b *testing.B) {
			env := testenvtest.New(b, chain(b, form), testenv.WithRealClock())
			req := testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", "user-1"}}}
			for b.Loop() {
				if res := env.Do(req); res.Err != nil {
					b.Fatal(res.Err)
				}
			}
		})
	}
}

// BenchmarkChainMemory reports the Go heap a started chain holds under testenv (wazero keeps
// each VM's linear memory on the Go heap): four VMs for separate modules, one for the bundle.
func BenchmarkChainMemory(b *testing.B) {
	for _, form := range forms {
		b.Run(form, func(b *testing.B) {
			filters := chain(b, form)
			// Warm the compilation cache so only instances are measured.
			warm := testenvtest.New(b, filters)
			warm.Close()
			var total float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				env, err := testenvtest.Runtime(b).Start(filters)
				if err != nil {
					b.Fatal(err)
				}
				env.Do(testenv.Request{Authority: "reviews"})
				runtime.GC()
				runtime.ReadMemStats(&after)
				total += float64(after.HeapInuse) - float64(before.HeapInuse)
				env.Close()
			}
			b.ReportMetric(total/float64(b.N)/(1<<20), "MiB/chain")
		})
	}
}

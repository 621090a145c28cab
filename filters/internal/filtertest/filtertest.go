package filtertest

import (
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/replay"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// BuildDir is the repository's build directory (where `make build` writes the modules).
func BuildDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "build")
}

// Module returns build/<name>.wasm, failing the test when it is missing.
func Module(t testing.TB, name string) []byte {
	t.Helper()
	return testenvtest.Module(t, filepath.Join(BuildDir(), name+".wasm"))
}

// Variant is one way to load a filter.
type Variant struct {
	Name   string
	Filter func(config string) testenv.Filter
}

// Variants returns the filter as its standalone module and as the bundle's root_id.
func Variants(t testing.TB, name string) []Variant {
	t.Helper()
	standalone, bundle := Module(t, name), Module(t, "wasmesh")
	return []Variant{
		{Name: "standalone", Filter: func(cfg string) testenv.Filter {
			return testenv.Filter{Name: name, Module: standalone, Config: []byte(cfg)}
		}},
		{Name: "bundle", Filter: func(cfg string) testenv.Filter {
			return testenv.Filter{Name: name, Module: bundle, RootID: name, Config: []byte(cfg)}
		}},
	}
}

// Refuses checks that the filter refuses config at plugin start: the chain does not start, and the
// plugin's critical log line names every problem ParseConfig reports (parseErr).
func Refuses(t *testing.T, f testenv.Filter, parseErr error) {
	t.Helper()
	require.Error(t, parseErr, "the config under test must be invalid")
	var logs strings.Builder
	_, err := testenvtest.Start(t, []testenv.Filter{f}, testenv.WithLogOutput(&logs))
	require.Error(t, err, "the plugin started with an invalid configuration")
	// One critical line (testenv.WithLogOutput writes "[critical] <plugin>: <message>") holds
	// every problem the parser reports, each with its JSON path.
	var critical string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.HasPrefix(l, "["+testenv.Critical.String()+"] ") && strings.Contains(l, ": invalid configuration: ") {
			critical = l
		}
	}
	require.NotEmpty(t, critical, "no critical log line refusing the configuration:\n%s", logs.String())
	for _, line := range strings.Split(parseErr.Error(), "\n") {
		require.Contains(t, critical, line, "the refusal does not name the problem the parser reports")
	}
}

// Replay runs every replay file matching pattern (e.g. "testdata/*.yaml") under testenv with
// the strict route cache, failing the test for each case that differs. A file whose chain is
// made of built-in filters runs twice: as written (separate filters) and as the bundle's
// pipeline (replay.AsPipeline); both forms must pass every case.
func Replay(t *testing.T, pattern string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	require.NoError(t, err)
	require.NotEmpty(t, files, "no replay files match %s", pattern)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := replay.ReadFile(path)
			require.NoError(t, err, "run make build if a module is missing")
			forms := []*replay.File{f}
			p, ok, err := replay.AsPipeline(f)
			require.NoError(t, err)
			if ok {
				forms = append(forms, p)
			}
			for _, form := range forms {
				results, err := replay.Run(testenvtest.Runtime(t), form, testenv.WithStrictRouteCache())
				require.NoError(t, err)
				var report strings.Builder
				failed := replay.Report(&report, results)
				require.Zero(t, failed, "%s (%s):\n%s", path, FormName(form), report.String())
				require.Len(t, results, len(f.Cases))
			}
		})
	}
}

// FormName names the form of a replay file's chain: "pipeline" for one plugin with the
// pipeline's root_id, else "as written".
func FormName(f *replay.File) string {
	if len(f.Filters) == 1 && f.Filters[0].RootID == "chain" {
		return "pipeline"
	}
	return "as written"
}

// HostCalls benchmarks env.Do(req) and reports the proxy-wasm host calls per stream
// (hostcalls/op); with -v it logs them by function.
func HostCalls(b *testing.B, env *testenv.Env, req testenv.Request) {
	b.Helper()
	before := env.HostCalls()
	n := 0
	for b.Loop() {
		if res := env.Do(req); res.Err != nil {
			b.Fatal(res.Err)
		}
		n++
	}
	after := env.HostCalls()
	total := 0
	var names []string
	for name, c := range after {
		if d := c - before[name]; d > 0 {
			total += d
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		b.Logf("%s: %.3f/op", name, float64(after[name]-before[name])/float64(n))
	}
	b.ReportMetric(float64(total)/float64(n), "hostcalls/op")
}

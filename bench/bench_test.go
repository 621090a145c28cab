package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/internal/envoybin"
)

// Every scenario's bootstrap is one stock Envoy accepts (envoy --mode validate), with the
// built modules.
func TestScenarioConfigsValidate(t *testing.T) {
	root := envoybin.RepoRoot()
	bin, err := envoybin.Find(root)
	require.NoError(t, err)
	build := filepath.Join(root, "build")
	for _, sc := range scenarios(build) {
		t.Run(sc.Name, func(t *testing.T) {
			for _, f := range []string{"router", "canary", "fault", "telemetry", "wasmesh", "noop"} {
				if _, err := os.Stat(filepath.Join(build, f+".wasm")); err != nil {
					t.Fatalf("%s.wasm missing: run make build", f)
				}
			}
			dir := t.TempDir()
			cfg, err := sc.config(10000, "127.0.0.1:10001", dir)
			require.NoError(t, err)
			path := filepath.Join(dir, "envoy.yaml")
			require.NoError(t, os.WriteFile(path, cfg, 0o644))
			out, err := exec.Command(bin.Path, "--mode", "validate", "-c", path, "--log-level", "warn").CombinedOutput()
			require.NoError(t, err, "%s", out)
		})
	}
}

func TestReportColumns(t *testing.T) {
	res := func(p50, p99 time.Duration, maxQPS float64) *loadResult {
		return &loadResult{Requests: 1000, ActualQPS: 1000, P50: p50, P90: p50, P99: p99, P999: p99, Elapsed: time.Second}
	}
	rs := []measured{
		{sc: scenario{Name: "bare", What: "b"}, fixed: res(200*time.Microsecond, 500*time.Microsecond, 0), max: &loadResult{ActualQPS: 20000}, rssMiB: 60},
		{sc: scenario{Name: "native", What: "n"}, fixed: res(210*time.Microsecond, 520*time.Microsecond, 0), max: &loadResult{ActualQPS: 19000}, rssMiB: 61},
		{sc: scenario{Name: "chain-bundle", What: "c"}, fixed: res(230*time.Microsecond, 600*time.Microsecond, 0), max: &loadResult{ActualQPS: 15000}, cpuPer1k: 20, rssMiB: 120},
	}
	out := renderReport(options{fixedQPS: 1000, conns: 16, fixedDur: time.Second, goBenchTime: "1x"}, "1.40.0", rs,
		&soakResult{requests: 100, rssStart: 100, rssMid: 101, rssEnd: 102, load: res(time.Millisecond, time.Millisecond, 0)}, nil, "0.50")
	require.Contains(t, out, "| native | 210 | 210 | 520 | 520 | +10 / +20 | — | 19000 | 5.0% |")
	require.Contains(t, out, "| chain-bundle | 230 | 230 | 600 | 600 | +30 / +100 | 3.00× | 15000 | 25.0% | 20.0 | 120.0 |")
	require.Contains(t, out, "| MiB | 100.0 | 101.0 | 102.0 | +2.0% |")
	require.Contains(t, out, "| chain-bundle | 200 | +200 | — |", "CPU per request: 20% of a core per 1k rps is 200 µs")
	require.True(t, strings.HasPrefix(out, "# wasmesh benchmarks"))
}

// cpuTime reads this process's CPU time, which grows while it computes.
func TestCPUTime(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	x := 0
	for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); {
		x++
	}
	after, err := cpuTime(os.Getpid())
	require.NoError(t, err)
	require.Greater(t, after, before, "after %d iterations", x)
}

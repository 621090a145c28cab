package e2e

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// chainFilters returns the full chain (telemetry → fault → router → canary) either as four
// separate modules (one VM each per worker) or from the bundle (one shared VM per worker).
func chainFilters(t testing.TB, bundle bool) []WasmFilter {
	configs := map[string]string{"telemetry": telemetryConfig, "fault": faultNoneConfig,
		"router": `{"services": {"reviews": {"rules": []}}}`, "canary": canaryConfig}
	var fs []WasmFilter
	for _, name := range []string{"telemetry", "fault", "router", "canary"} {
		f := WasmFilter{Name: name, Config: configs[name]}
		if bundle {
			f.File, f.RootID, f.VMID = wasm(t, "wasmesh"), name, "wasmesh"
		} else {
			f.File, f.VMID = wasm(t, name), "wasmesh."+name
		}
		fs = append(fs, f)
	}
	return fs
}

// BenchmarkEnvoyChainRSS reports Envoy's resident memory (rss_MiB) after b.N requests through
// the full chain, bundle vs separate modules, with 2 workers (one VM per filter module per
// worker). Run: go test ./testenv/e2e -run '^$' -bench EnvoyChainRSS -benchtime 2000x
func BenchmarkEnvoyChainRSS(b *testing.B) {
	for _, mode := range []struct {
		name   string
		bundle bool
	}{{"separate", false}, {"bundle", true}} {
		b.Run(mode.name, func(b *testing.B) {
			up := UpstreamT(b, UpstreamOptions{Service: "reviews", Version: "v1"})
			up2 := UpstreamT(b, UpstreamOptions{Service: "reviews", Version: "v2"})
			port := FreePortsT(b, 1)[0]
			cfg, err := StaticConfig{ListenPort: port, Filters: chainFilters(b, mode.bundle),
				Clusters:       []Cluster{{Name: "reviews|v1", Address: up.Addr()}, {Name: "reviews|v2", Address: up2.Addr()}},
				DefaultCluster: "reviews|v1"}.YAML()
			require.NoError(b, err)
			e := EnvoyT(b, EnvoyOptions{Name: "rss-" + mode.name, Binary: envoyBin(b), Config: cfg, Concurrency: 2, LogLevel: "warn"})
			idle, err := e.RSS()
			require.NoError(b, err)
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Host = "reviews"
				req.Header.Set("x-user", "u"+strconv.Itoa(i))
				resp, err := c.Do(req)
				require.NoError(b, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(b, http.StatusOK, resp.StatusCode)
			}
			b.StopTimer()
			rss, err := e.RSS()
			require.NoError(b, err)
			b.ReportMetric(float64(idle)/(1<<20), "idle_rss_MiB")
			b.ReportMetric(float64(rss)/(1<<20), "rss_MiB")
		})
	}
}

// BenchmarkEnvoyVMRSS isolates what the bundle saves: Envoy's resident memory with no Wasm,
// with four filters of one module sharing one vm_id (one VM per worker, like the bundle), and
// with four filters in four vm_ids (four VMs per worker, like separate modules), using the
// small test plugin build/hello.wasm, 2 workers.
// Run: go test ./testenv/e2e -run '^$' -bench EnvoyVMRSS -benchtime 200x
func BenchmarkEnvoyVMRSS(b *testing.B) {
	for _, mode := range []struct {
		name string
		vms  int // 0: no Wasm filter
	}{{"no-wasm", 0}, {"4-filters-1-vm", 1}, {"4-filters-4-vms", 4}} {
		b.Run(mode.name, func(b *testing.B) {
			var fs []WasmFilter
			if mode.vms > 0 {
				for i := range 4 {
					fs = append(fs, WasmFilter{Name: "f" + strconv.Itoa(i), File: wasm(b, "hello"), VMID: "vm" + strconv.Itoa(i%mode.vms)})
				}
			}
			up := UpstreamT(b, UpstreamOptions{Service: "reviews", Version: "v1"})
			port := FreePortsT(b, 1)[0]
			cfg, err := StaticConfig{ListenPort: port, Filters: fs, Clusters: []Cluster{{Name: "reviews|v1", Address: up.Addr()}}, DefaultCluster: "reviews|v1"}.YAML()
			require.NoError(b, err)
			e := EnvoyT(b, EnvoyOptions{Name: "vm-" + mode.name, Binary: envoyBin(b), Config: cfg, Concurrency: 2, LogLevel: "warn"})
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
				require.NoError(b, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(b, http.StatusOK, resp.StatusCode)
			}
			b.StopTimer()
			rss, err := e.RSS()
			require.NoError(b, err)
			b.ReportMetric(float64(rss)/(1<<20), "rss_MiB")
		})
	}
}

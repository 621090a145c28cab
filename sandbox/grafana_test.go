package sandbox

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/internal/bootstrap"
)

var (
	metricRE  = regexp.MustCompile(`\bwasmesh_[a-z0-9_]+`)
	literalRE = regexp.MustCompile(`"(wasmesh_[a-z0-9_]+)`)
	byRE      = regexp.MustCompile(`\bby \(([^)]*)\)`)
	matcherRE = regexp.MustCompile(`\{([^}]*)\}`)
	labelRE   = regexp.MustCompile(`([a-z_]+)\s*(=~|!=|!~|=)`)
)

// filterMetrics returns the metric names the built-in filters define: the "wasmesh_…" string
// literals in the non-test Go files under filters/ and sdk/ (the part before any ';' tag).
func filterMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, root := range []string{"../filters", "../sdk"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range literalRE.FindAllSubmatch(b, -1) {
				names[strings.TrimSuffix(string(m[1]), "_")] = true
			}
			return nil
		})
		require.NoError(t, err, "the dashboard is checked against the filters' metric names")
	}
	require.NotEmpty(t, names, "no wasmesh_ metric names found in filters/ or sdk/")
	return names
}

type dashboard struct {
	UID    string `json:"uid"`
	Title  string `json:"title"`
	Panels []struct {
		Title      string `json:"title"`
		Type       string `json:"type"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestGrafanaDashboard checks sandbox/grafana/wasmesh.json is valid, uses the provisioned
// Prometheus datasource, and queries only metric names the filters define, with only the
// documented labels.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("grafana/wasmesh.json")
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Equal(t, "wasmesh", d.UID)
	require.NotEmpty(t, d.Panels)

	var ds struct {
		Datasources []struct {
			UID string `json:"uid"`
			URL string `json:"url"`
		} `json:"datasources"`
	}
	dsRaw, err := os.ReadFile("grafana/provisioning/datasources/prometheus.yaml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(dsRaw, &ds))
	require.Len(t, ds.Datasources, 1)
	require.Equal(t, "http://"+PrometheusIP+":9090", ds.Datasources[0].URL)

	defined := filterMetrics(t)
	labels := append(bootstrap.TagKeys(), "le")
	for _, p := range d.Panels {
		t.Run(p.Title, func(t *testing.T) {
			require.Equal(t, ds.Datasources[0].UID, p.Datasource.UID)
			require.NotEmpty(t, p.Targets)
			for _, tg := range p.Targets {
				names := metricRE.FindAllString(tg.Expr, -1)
				require.NotEmpty(t, names, "query uses no wasmesh metric: %s", tg.Expr)
				for _, n := range names {
					base := n
					for _, suf := range []string{"_bucket", "_sum", "_count"} {
						if b, ok := strings.CutSuffix(n, suf); ok && defined[b] {
							base = b
						}
					}
					require.True(t, defined[base], "metric %s is not defined by the filters (defined: %v)", n, keys(defined))
				}
				for _, m := range byRE.FindAllStringSubmatch(tg.Expr, -1) {
					for _, l := range strings.Split(m[1], ",") {
						require.Contains(t, labels, strings.TrimSpace(l), tg.Expr)
					}
				}
				for _, m := range matcherRE.FindAllStringSubmatch(tg.Expr, -1) {
					if strings.Contains(m[1], "{{") {
						continue
					}
					for _, l := range labelRE.FindAllStringSubmatch(m[1], -1) {
						require.Contains(t, labels, l[1], tg.Expr)
					}
				}
			}
		})
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

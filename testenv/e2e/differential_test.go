package e2e

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/testenv/replay"
)

// replayFiles are the replay files of the built-in filters and of the SDK-example plugins.
func replayFiles(t *testing.T) []string {
	root := repoRoot(t)
	var files []string
	for _, pattern := range []string{"filters/*/testdata/*.yaml", "testdata/replay/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files, "no replay files under filters/*/testdata or testdata/replay")
	return files
}

// Every replay case of the built-in filters and the SDK-example plugins passes in real Envoy,
// as it does under testenv (`wasmesh replay`): where they differ, testenv is wrong. A file whose
// chain is made of built-in filters runs twice, as written (separate filters) and as the
// bundle's pipeline, and both forms must pass every case (under testenv too:
// filtertest.Replay).
func TestDifferential(t *testing.T) {
	for _, path := range replayFiles(t) {
		rel, _ := filepath.Rel(repoRoot(t), path)
		t.Run(rel, func(t *testing.T) {
			f, err := ReadCaseFile(path)
			require.NoError(t, err)
			for _, fl := range f.Filters {
				if _, err := os.Stat(fl.Wasm); err != nil {
					t.Fatalf("%s: %v: run make build", rel, err)
				}
			}
			forms := map[string]*replay.File{"as written": f}
			p, ok, err := replay.AsPipeline(f)
			require.NoError(t, err)
			if ok {
				forms["pipeline"] = p
			}
			for _, form := range slices.Sorted(maps.Keys(forms)) {
				res, err := RunCaseFile(t.Context(), forms[form], envoyBin(t))
				require.NoError(t, err)
				var out bytes.Buffer
				failed := Report(&out, res)
				t.Logf("%s in Envoy (%s):\n%s", rel, form, out.String())
				require.Zero(t, failed, "cases that differ in Envoy (%s):\n%s", form, out.String())
			}
		})
	}
}

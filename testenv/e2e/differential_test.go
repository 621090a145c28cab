package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
// as it does under testenv (`wasmesh replay`): where they differ, testenv is wrong.
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
			res, err := RunCaseFile(t.Context(), f, envoyBin(t))
			require.NoError(t, err)
			var out bytes.Buffer
			failed := Report(&out, res)
			t.Logf("%s in Envoy:\n%s", rel, out.String())
			require.Zero(t, failed, "cases that differ in Envoy:\n%s", out.String())
		})
	}
}

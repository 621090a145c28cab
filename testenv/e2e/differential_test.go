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

// dirLogs is what explains a failed replay run in dir, read before the test's temporary
// directory is removed: Envoy's problem lines and the last lines of its log.
func dirLogs(dir string) string {
	e := &Envoy{Name: "replay", LogPath: filepath.Join(dir, "envoy.log")}
	return e.LogProblems(40) + "\n" + e.LogTail(40)
}

// replayFiles are the replay files of the built-in filters and of the SDK-example plugins.
func replayFiles(t *testing.T) []string {
	root := repoRoot(t)
	var files []string
	for _, pattern := range []string{"filters/*/testdata/*.yaml", "examples/filters/*/testdata/*.yaml", "testdata/replay/*.yaml"} {
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
				dir := t.TempDir()
				res, err := RunCaseFile(t.Context(), forms[form], CaseOptions{Binary: envoyBin(t), Dir: dir, Certs: testCA(t)})
				if err != nil {
					t.Fatalf("%s (%s): %v\n%s", rel, form, err, dirLogs(dir))
				}
				var out bytes.Buffer
				failed := replay.ReportWith(&out, res, replay.ReportOptions{Logs: true})
				t.Logf("%s in Envoy (%s):\n%s", rel, form, out.String())
				require.Zero(t, failed, "cases that differ in Envoy (%s):\n%s\n%s", form, out.String(), dirLogs(dir))
			}
		})
	}
}

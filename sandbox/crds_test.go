package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// TestSampleResourcesDecode checks every sample resource decodes strictly and validates, alone
// and as the set the sandbox applies (references included).
func TestSampleResourcesDecode(t *testing.T) {
	files, err := filepath.Glob("crds/*.yaml")
	require.NoError(t, err)
	cfiles, err := filepath.Glob(filepath.Join(ComposeCRDDir, "*.yaml"))
	require.NoError(t, err)
	files = append(files, cfiles...)
	require.Contains(t, files, filepath.Join("crds", "canary-50.yaml"))
	for _, f := range startupFiles {
		require.Contains(t, files, filepath.Join("crds", f))
	}
	var objs []crd.Object
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			docs, err := crd.Decode(f, data)
			require.NoError(t, err)
			require.NotEmpty(t, docs)
			for _, d := range docs {
				require.Empty(t, crd.Validate(d.Object), "%s", f)
				objs = append(objs, d.Object)
			}
		})
	}
	set := crd.NewSet(objs...)
	require.Len(t, set.Services, 3)
	reviews := set.Service("", "reviews")
	require.NotNil(t, reviews)
	require.Equal(t, []string{"v1", "v2", "v3"}, reviews.VersionNames())
}

package kube

import (
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

var update = flag.Bool("update", false, "rewrite the generated manifests under install/kubernetes")

const crdManifestPath = "../../install/kubernetes/crds.yaml"

// TestCRDManifest fails when install/kubernetes/crds.yaml is not what the Go types generate
// (a kind or field was added or changed): regenerate it with -update.
func TestCRDManifest(t *testing.T) {
	got, err := CRDManifest()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.MkdirAll("../../install/kubernetes", 0o755))
		require.NoError(t, os.WriteFile(crdManifestPath, got, 0o644))
	}
	want, err := os.ReadFile(crdManifestPath)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "install/kubernetes/crds.yaml is stale: go test ./controlplane/kube -run TestCRDManifest -update")
}

func TestPlural(t *testing.T) {
	tests := map[crd.Kind]string{
		crd.KindService: "services", crd.KindTrafficRoute: "trafficroutes",
		crd.KindTelemetry: "telemetries", crd.KindWasmPlugin: "wasmplugins", "Gateway": "gateways",
	}
	for k, want := range tests {
		require.Equal(t, want, Plural(k), k)
	}
}

package inject

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testConfig() Config {
	return Config{
		XDSAddress: "wasmesh-controlplane.wasmesh-system.svc:18000", ModulesAddress: "wasmesh-controlplane.wasmesh-system.svc:18001",
		Token:  func(node string) string { return "wxds1.test-credential-for-" + node },
		Random: func(n int) string { return "x7k2q"[:n] },
	}
}

// golden compares got (as YAML) with testdata/<name>.out.yaml.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := yaml.Marshal(got)
	require.NoError(t, err)
	p := filepath.Join("testdata", name+".out.yaml")
	if *update {
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, string(want), string(b), "%s is stale: go test ./controlplane/kube/inject -update", p)
}

func readPod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".in.yaml"))
	require.NoError(t, err)
	var pod corev1.Pod
	require.NoError(t, yaml.UnmarshalStrict(b, &pod))
	return &pod
}

// The injected pod spec, against golden files: testdata/<case>.in.yaml is the pod as
// created, <case>.out.yaml what the API server stores after the webhook (for a pod that is
// not injected, the pod unchanged).
func TestInjectGolden(t *testing.T) {
	tests := []struct {
		name     string
		nsLabels map[string]string
		wanted   bool
	}{
		{name: "namespace-opt-in", nsLabels: map[string]string{InjectLabel: "enabled"}, wanted: true},
		{name: "pod-opt-in", wanted: true},
		{name: "generate-name", nsLabels: map[string]string{InjectLabel: "enabled"}, wanted: true},
		{name: "pod-opt-out", nsLabels: map[string]string{InjectLabel: "enabled"}, wanted: false},
		{name: "not-opted-in", wanted: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := readPod(t, tt.name)
			require.Equal(t, tt.wanted, Wanted(pod, tt.nsLabels))
			out := pod
			if tt.wanted {
				var err error
				out, err = testConfig().Inject(pod, "shop")
				require.NoError(t, err)
				require.False(t, Wanted(out, tt.nsLabels), "an injected pod is not injected again")
			}
			golden(t, tt.name, out)
		})
	}
}

func TestInjectRefusals(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Name = "p"
	pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "x"}}
	_, err := testConfig().Inject(pod, "shop")
	require.EqualError(t, err, `inject: container "app" declares no TCP port: declare the app's port or annotate the pod wasmesh.io/app-port: <port>`)
	pod.Annotations = map[string]string{AppPortAnnotation: "http"}
	_, err = testConfig().Inject(pod, "shop")
	require.EqualError(t, err, `inject: annotation wasmesh.io/app-port: "http" is not a port`)
	_, err = Config{}.Inject(pod, "shop")
	require.EqualError(t, err, "inject: no credential minter (Config.Token)")
}

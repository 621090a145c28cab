package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/kube"
)

func TestInstallCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"install", "--kubernetes", "--namespace", "mesh-system"}, &out, &errOut), errOut.String())
	kinds := map[string]int{}
	dec := yaml.NewDecoder(strings.NewReader(out.String()))
	for {
		var doc struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		kinds[doc.Kind]++
	}
	require.Equal(t, map[string]int{
		"Namespace": 1, "CustomResourceDefinition": len(crd.Kinds()), "ServiceAccount": 1, "ClusterRole": 1,
		"ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1, "Secret": 1, "Service": 2, "Deployment": 1,
		"ValidatingWebhookConfiguration": 1, "MutatingWebhookConfiguration": 1,
	}, kinds)
	require.Contains(t, out.String(), "--sidecar-xds=wasmesh-xds.mesh-system.svc:18000")

	out.Reset()
	require.Equal(t, 0, run([]string{"install", "--kubernetes", "--crds"}, &out, &errOut))
	want, err := kube.CRDManifest()
	require.NoError(t, err)
	require.Equal(t, string(want), out.String())

	errOut.Reset()
	require.Equal(t, 2, run([]string{"install"}, &out, &errOut))
	require.Contains(t, errOut.String(), "--kubernetes is required")
}

func TestServeKubernetesNeedsACluster(t *testing.T) {
	var out, errOut bytes.Buffer
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	require.Equal(t, 1, run([]string{"serve", "--kubernetes", "--modules", t.TempDir()}, &out, &errOut))
	require.Contains(t, errOut.String(), "outside a cluster, pass --kubeconfig")
}

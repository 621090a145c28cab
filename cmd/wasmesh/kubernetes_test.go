package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/kube/kubetest"
	"github.com/wasmesh/wasmesh/controlplane/kube/pki"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/testenv/e2e"
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

// `wasmesh serve --kubernetes` against a real API server: without the CRDs it says what to
// install; with them it serves health, the modules and the validating webhook over TLS with
// the given certificate, until its context ends.
func TestServeKubernetes(t *testing.T) {
	kubetest.Require(t)
	ctx := context.Background()
	c, err := kubetest.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(c.Stop)
	dir := t.TempDir()
	ca, cert, key, err := pki.ServingCert("127.0.0.1")
	require.NoError(t, err)
	files := map[string][]byte{
		"kubeconfig": c.Kubeconfig(), "xds-key": []byte(strings.Repeat("ab", 32) + "\n"),
		"webhook.crt": cert, "webhook.key": key,
	}
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	ports, err := e2e.FreePorts(2)
	require.NoError(t, err)
	httpAddr, hookAddr := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	args := []string{"--kubernetes", "--kubeconfig", filepath.Join(dir, "kubeconfig"),
		"--xds", "127.0.0.1:0", "--http", httpAddr, "--webhook", hookAddr, "--data-dir", filepath.Join(dir, "data"),
		"--modules", filepath.Join(envoybin.RepoRoot(), "build"), "--xds-key-file", filepath.Join(dir, "xds-key"),
		"--webhook-cert", filepath.Join(dir, "webhook.crt"), "--webhook-key", filepath.Join(dir, "webhook.key"),
		"--control-plane-namespace", "default"}

	var out, errOut syncBuffer
	err = serve(ctx, args, &out, &errOut)
	require.ErrorContains(t, err, "the CustomResourceDefinition services.wasmesh.io is not installed: kubectl apply -f install/kubernetes/crds.yaml")

	require.NoError(t, kubetest.InstallCRDs(ctx, c.Config))
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, args, &out, &errOut) }()
	require.NoError(t, e2e.WaitFor(kubetest.StartTimeout, func() error {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}), "stdout %s\nstderr %s", out.String(), errOut.String())
	require.Contains(t, out.String(), "wasmesh serve --kubernetes: replica")

	// The validating webhook answers over TLS with the given certificate.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","operation":"CREATE",` +
		`"namespace":"default","name":"r","kind":{"group":"wasmesh.io","version":"v1alpha1","kind":"TrafficRoute"},` +
		`"object":{"apiVersion":"wasmesh.io/v1alpha1","kind":"TrafficRoute","metadata":{"name":"r"},"spec":{"service":"nothere","timeout":"1s"}}}}`
	resp, err := hc.Post("https://"+hookAddr+kube.ValidatePath, "application/json", strings.NewReader(review))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `"allowed":false`)
	require.Contains(t, string(body), `TrafficRoute \"r\": spec.service: Service \"nothere\" does not exist`)

	cancel()
	require.NoError(t, <-done)
}

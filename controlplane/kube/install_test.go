package kube_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/kube/kubetest"
	"github.com/wasmesh/wasmesh/controlplane/kube/pki"
)

// The install manifests are valid for the API server: the namespace is created, every other
// object passes a server-side dry run (admission and validation included, nothing stored:
// the webhook configurations would point the shared cluster at a control plane that does not
// run here).
func TestInstallApplies(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ns := "wasmesh-install"
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ca, cert, pkey, err := pki.ServingCert(kube.WebhookHost(ns))
	require.NoError(t, err)
	manifest, err := kube.Install(kube.InstallOptions{Namespace: ns, XDSKey: key, CA: ca, Cert: cert, Key: pkey})
	require.NoError(t, err)
	resources := map[string]schema.GroupVersionResource{
		"Namespace":                      {Version: "v1", Resource: "namespaces"},
		"CustomResourceDefinition":       kubetest.CRDResource,
		"ServiceAccount":                 {Version: "v1", Resource: "serviceaccounts"},
		"Secret":                         {Version: "v1", Resource: "secrets"},
		"Service":                        {Version: "v1", Resource: "services"},
		"ClusterRole":                    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
		"ClusterRoleBinding":             {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
		"Role":                           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
		"RoleBinding":                    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
		"Deployment":                     {Group: "apps", Version: "v1", Resource: "deployments"},
		"ValidatingWebhookConfiguration": {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"},
		"MutatingWebhookConfiguration":   {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"},
	}
	kinds := map[string]int{}
	for _, u := range objects(t, "", manifest) {
		gvr, ok := resources[u.GetKind()]
		require.True(t, ok, "no resource for kind %s", u.GetKind())
		kinds[u.GetKind()]++
		opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
		if u.GetKind() == "Namespace" {
			opts.DryRun = nil
		}
		r := e.dc.Resource(gvr)
		var err error
		if u.GetNamespace() != "" {
			_, err = r.Namespace(u.GetNamespace()).Create(ctx, u, opts)
		} else {
			_, err = r.Create(ctx, u, opts)
		}
		if u.GetKind() == "CustomResourceDefinition" {
			// Installed by setup already: the same definition is there.
			got, gerr := r.Get(ctx, u.GetName(), metav1.GetOptions{})
			require.NoError(t, gerr)
			require.Equal(t, u.Object["spec"].(map[string]any)["names"], got.Object["spec"].(map[string]any)["names"])
			continue
		}
		require.NoError(t, err, "%s %s", u.GetKind(), u.GetName())
	}
	require.Equal(t, 1, kinds["Deployment"])
	require.Equal(t, 1, kinds["MutatingWebhookConfiguration"])
	require.Len(t, kinds, len(resources))
}

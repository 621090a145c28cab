package kube_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wasmesh/wasmesh/controlplane/kube/inject"
	"github.com/wasmesh/wasmesh/controlplane/xds"
)

// Pods created through the API server get the sidecar from the mutating webhook when they
// opt in (namespace label, or pod label elsewhere) and not when they opt out; a pod created
// with generateName is named by the injector, and its credential proves that name.
func TestInjectThroughAPIServer(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ns := e.namespace(t, "injected")
	nsObj, err := e.kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err)
	nsObj.Labels = map[string]string{inject.InjectLabel: "enabled"}
	_, err = e.kc.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{})
	require.NoError(t, err)
	plain := e.namespace(t, "plain")
	creds, err := xds.NewCredentials(e.key)
	require.NoError(t, err)

	pod := func(ns, name, generateName string, labels map[string]string) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, GenerateName: generateName, Namespace: ns, Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.com/web:1", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
		}
		got, err := e.kc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
		return got
	}
	injected := func(t *testing.T, p *corev1.Pod) {
		t.Helper()
		require.Len(t, p.Spec.Containers, 2)
		require.Equal(t, inject.SidecarName, p.Spec.Containers[1].Name)
		require.Equal(t, inject.InitName, p.Spec.InitContainers[0].Name)
		boot := p.Annotations[inject.BootstrapAnnotation]
		node := p.Name + "." + p.Namespace
		require.Contains(t, boot, `id: "`+node+`"`)
		_, tok, ok := strings.Cut(boot, `value: "Bearer `)
		require.True(t, ok, boot)
		tok, _, _ = strings.Cut(tok, `"`)
		got, err := creds.Verify(tok)
		require.NoError(t, err)
		require.Equal(t, node, got, "the credential proves the pod's node id")
	}

	generated := pod(ns, "", "web-", map[string]string{"app": "web", "version": "v1"})
	require.True(t, strings.HasPrefix(generated.Name, "web-") && len(generated.Name) == len("web-")+5, generated.Name)
	injected(t, generated)
	injected(t, pod(plain, "labelled", "", map[string]string{inject.InjectLabel: "true"}))

	optOut := pod(ns, "batch", "", map[string]string{inject.InjectLabel: "false"})
	require.Len(t, optOut.Spec.Containers, 1)
	require.Empty(t, optOut.Spec.InitContainers)
	require.Empty(t, optOut.Annotations[inject.BootstrapAnnotation])
	other := pod(plain, "other", "", nil)
	require.Len(t, other.Spec.Containers, 1)
}

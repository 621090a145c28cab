package kube_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/kube/inject"
	"github.com/wasmesh/wasmesh/controlplane/kube/kubetest"
	"github.com/wasmesh/wasmesh/controlplane/kube/pki"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

func TestMain(m *testing.M) {
	// client-go logs through klog (leader election, watches): not onto the test output.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	code := m.Run()
	if shared.e != nil {
		_ = shared.e.webhook.Close()
	}
	kubetest.StopShared()
	os.Exit(code)
}

// env is the shared cluster with the CRDs installed and one control-plane replica serving
// the validating webhook (registered with failurePolicy Fail).
type env struct {
	c       *kubetest.Cluster
	kc      kubernetes.Interface
	dc      dynamic.Interface
	key     []byte
	webhook *controlplane.KubernetesControlPlane
}

var shared struct {
	once sync.Once
	e    *env
	err  error
}

func setup(t *testing.T) *env {
	t.Helper()
	c := kubetest.Shared(t)
	shared.once.Do(func() { shared.e, shared.err = newEnv(c) })
	require.NoError(t, shared.err)
	return shared.e
}

func newEnv(c *kubetest.Cluster) (*env, error) {
	ctx := context.Background()
	e := &env{c: c, key: make([]byte, 32)}
	_, _ = rand.Read(e.key)
	var err error
	if e.kc, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}
	if e.dc, err = dynamic.NewForConfig(c.Config); err != nil {
		return nil, err
	}
	if err := kubetest.InstallCRDs(ctx, c.Config); err != nil {
		return nil, err
	}
	caPEM, certPEM, keyPEM, err := pki.ServingCert("127.0.0.1")
	if err != nil {
		return nil, err
	}
	e.webhook, err = e.startReplica(ctx, "webhook", certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if err := e.registerInjector(ctx, caPEM); err != nil {
		return nil, err
	}
	wh := &admissionregistrationv1.ValidatingWebhookConfiguration{
		// Not "wasmesh": TestInstallApplies dry-runs the installed configuration of that name.
		ObjectMeta: metav1.ObjectMeta{Name: "wasmesh-test"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "validate.wasmesh.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL: ptr.To("https://" + e.webhook.WebhookAddr + kube.ValidatePath), CABundle: caPEM},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{"CREATE", "UPDATE", "DELETE"},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{kube.Group}, APIVersions: []string{kube.Version},
					Resources: []string{"*"}, Scope: ptr.To(admissionregistrationv1.NamespacedScope)},
			}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](30),
		}},
	}
	if _, err := e.kc.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, wh, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("webhook configuration: %w", err)
	}
	return e, nil
}

// registerInjector registers the replica's injector as the installed configuration does
// (kube.Install): namespaces labelled wasmesh.io/inject=enabled, and pods labelled
// wasmesh.io/inject=true elsewhere.
func (e *env) registerInjector(ctx context.Context, caPEM []byte) error {
	client := admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://" + e.webhook.WebhookAddr + inject.Path), CABundle: caPEM}
	hook := func(name string, ns, obj *metav1.LabelSelector) admissionregistrationv1.MutatingWebhook {
		return admissionregistrationv1.MutatingWebhook{
			Name: name, ClientConfig: client, NamespaceSelector: ns, ObjectSelector: obj,
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{"CREATE"},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
					Scope: ptr.To(admissionregistrationv1.NamespacedScope)},
			}},
			FailurePolicy: ptr.To(admissionregistrationv1.Fail), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"}, TimeoutSeconds: ptr.To[int32](30),
		}
	}
	notIn := func(v string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: inject.InjectLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{v}}}}
	}
	mw := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "wasmesh-test"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			hook(kube.InjectHook, &metav1.LabelSelector{MatchLabels: map[string]string{inject.InjectLabel: "enabled"}}, notIn("false")),
			hook(kube.InjectPodHook, notIn("enabled"), &metav1.LabelSelector{MatchLabels: map[string]string{inject.InjectLabel: "true"}}),
		},
	}
	_, err := e.kc.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mw, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("mutating webhook configuration: %w", err)
	}
	return nil
}

// The control plane's own Service, whose EndpointSlices list the replicas' HTTP addresses
// (the status leader merges their sidecars' states).
const (
	cpNamespace = "default"
	cpService   = "wasmesh-controlplane"
)

// startReplica starts a control-plane replica on loopback (a webhook listener when cert is
// given) and lists it in the control plane Service's EndpointSlices.
func (e *env) startReplica(ctx context.Context, name string, cert, key []byte) (*controlplane.KubernetesControlPlane, error) {
	cfg := controlplane.KubernetesConfig{
		Inject: &inject.Config{XDSAddress: "wasmesh-controlplane.wasmesh-system.svc:18000", ModulesAddress: "wasmesh-controlplane.wasmesh-system.svc:18001"},
		Rest:   e.c.Config, XDSAddress: "127.0.0.1:0", HTTPAddress: "127.0.0.1:0", WebhookAddress: "127.0.0.1:0",
		WebhookCert: cert, WebhookKey: key, XDSKey: e.key,
		ModulesDir: filepath.Join(envoybin.RepoRoot(), "build"), Identity: name,
		EndpointAddress: podAddress,
		// One module URL for every replica, as in a cluster (the Service name): the sidecars
		// fetch through their wasmesh-modules cluster, whatever the host.
		ModulesURL: "http://" + cpService + "." + cpNamespace + ":18001",
	}
	dir, err := os.MkdirTemp("", "wasmesh-cp-")
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	cfg.Status.LeaseDuration, cfg.Status.RenewDeadline, cfg.Status.RetryPeriod = 4*time.Second, 3*time.Second, 500*time.Millisecond
	cfg.Status.Interval = 500 * time.Millisecond
	cfg.PeerService.Namespace, cfg.PeerService.Name, cfg.PeerService.Port = cpNamespace, cpService, "http"
	cp, err := controlplane.StartKubernetes(ctx, cfg)
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(cp.HTTPAddr)
	p, _ := strconv.Atoi(port)
	wctx, cancel := context.WithTimeout(ctx, kubetest.StartTimeout)
	defer cancel()
	err = e.ensureService(ctx, cpNamespace, cpService, 18001)
	if err == nil {
		err = e.putSlice(ctx, cpNamespace, cpService, cpService+"-"+name, "", p)
	}
	if err == nil {
		err = cp.WaitSynced(wctx)
	}
	if err != nil {
		_ = cp.Close()
		return nil, err
	}
	return cp, nil
}

// stopReplica closes a replica and removes it from the control plane Service.
func (e *env) stopReplica(t *testing.T, name string, cp *controlplane.KubernetesControlPlane) {
	t.Helper()
	require.NoError(t, cp.Close())
	err := e.kc.DiscoveryV1().EndpointSlices(cpNamespace).Delete(context.Background(), cpService+"-"+name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

// namespace creates a namespace for a test and, in its cleanup, deletes what the test put
// there: Service names are mesh-wide, and the next test uses the same ones. (No namespace
// controller runs, so the namespace itself stays.)
func (e *env) namespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	_, err := e.kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		kinds := crd.Kinds()
		for i := len(kinds) - 1; i >= 0; i-- { // what refers to a Service before the Service
			err := e.dc.Resource(kube.GVR(kinds[i])).Namespace(name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			require.NoError(t, err, "delete %s", kinds[i])
		}
		svcs, err := e.kc.CoreV1().Services(name).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		for _, s := range svcs.Items {
			require.NoError(t, e.kc.CoreV1().Services(name).Delete(ctx, s.Name, metav1.DeleteOptions{}))
		}
		require.NoError(t, e.kc.DiscoveryV1().EndpointSlices(name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
		require.NoError(t, e.kc.CoreV1().Pods(name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}))
		// The replicas' sets no longer hold the namespace's Services.
		require.NoError(t, e2e.WaitFor(kubetest.StartTimeout, func() error {
			for _, o := range e.webhook.Source.Set().Services {
				if o.Metadata.Namespace == name {
					return fmt.Errorf("Service %s/%s still in the webhook replica's set", name, o.Metadata.Name)
				}
			}
			return nil
		}))
	})
	return name
}

func (e *env) ensureService(ctx context.Context, ns, name string, port int32) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: port}}},
	}
	_, err := e.kc.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// podIP is the "pod address" of every EndpointSlice the tests write (192.0.2.1, TEST-NET-1:
// the API server refuses loopback addresses there); the replicas map it to 127.0.0.1, where
// the tests' Envoys and replicas listen, differing by port.
const podIP = "192.0.2.1"

func podAddress(a string) string {
	if a == podIP {
		return "127.0.0.1"
	}
	return a
}

// putSlice creates (or replaces) an EndpointSlice of a Service with one ready endpoint,
// podIP at port (the port is per slice), pointing at the pod when one is named.
func (e *env) putSlice(ctx context.Context, ns, service, name, pod string, port int) error {
	ep := discoveryv1.Endpoint{Addresses: []string{podIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}
	if pod != "" {
		ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod}
	}
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{ep},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(port))}},
	}
	c := e.kc.DiscoveryV1().EndpointSlices(ns)
	_, err := c.Create(ctx, es, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = c.Update(ctx, es, metav1.UpdateOptions{})
	}
	return err
}

// putPod creates a pod object (nothing runs it: no kubelet) with the service and version
// labels.
func (e *env) putPod(ctx context.Context, ns, name, app, version string) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app, kube.VersionLabel: version}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/" + app + ":" + version}}},
	}
	_, err := e.kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	return err
}

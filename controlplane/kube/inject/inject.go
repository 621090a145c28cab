// Package inject is the sidecar injector of wasmesh's Kubernetes mode: a mutating admission
// webhook that adds to an opted-in pod the Envoy sidecar (stock Envoy, bootstrapped from a
// file the pod's own annotation projects), its xDS credential, and an init container that
// sets up the iptables capture of the pod's traffic, as Istio does.
//
// Opt-in is per namespace (label wasmesh.io/inject=enabled) or per pod (label
// wasmesh.io/inject=true); a pod labelled or annotated wasmesh.io/inject=false is never
// injected, and a pod already carrying the sidecar is left as it is.
//
// The credential: a sidecar proves its node id (<pod name>.<namespace>) with an HMAC
// credential derived from the control plane's shared key (controlplane/xds.Credentials).
// The injector holds that key, so it mints the credential when it injects the pod and
// renders it into the bootstrap. A pod created with generateName has no name yet when
// admission runs: the injector then names it (generateName plus five random characters, as
// the API server would), so the credential can name the pod. The bootstrap, credential
// included, is the pod's annotation wasmesh.io/bootstrap, projected into the sidecar by a
// downward-API volume: whoever may read the pod may read its credential, which proves only
// that pod's node id (docs/kubernetes.md, "Sidecar credentials").
package inject

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/internal/bootstrap"
)

// Labels and annotations the injector reads and writes.
const (
	// InjectLabel opts a namespace in (value "enabled"), a pod in ("true") or out ("false").
	InjectLabel = "wasmesh.io/inject"
	// BootstrapAnnotation holds the rendered sidecar bootstrap (projected into the sidecar).
	BootstrapAnnotation = "wasmesh.io/bootstrap"
	// StatusAnnotation records the injection ("injected").
	StatusAnnotation = "wasmesh.io/status"
	// AppPortAnnotation names the app's port when its first container declares none.
	AppPortAnnotation = "wasmesh.io/app-port"
	// ServiceLabel names the pod's service (default: label "app", then the pod's name).
	ServiceLabel = "app"
)

// Container and volume names the injector adds.
const (
	SidecarName = "wasmesh-proxy"
	InitName    = "wasmesh-init"
	VolumeName  = "wasmesh-bootstrap"
)

// Ports and the user id of the sidecar (the capture rules exempt the sidecar's own traffic
// by its user id).
const (
	InboundPort  = 15006
	OutboundPort = 15001
	AdminPort    = 15000
	ProxyUID     = 1337
)

// Config is what the injector adds.
type Config struct {
	// ProxyImage is stock Envoy >= 1.39 (default docker.io/envoyproxy/envoy:v1.40.0).
	ProxyImage string
	// InitImage runs the capture rules: it needs iptables and sh (default
	// ghcr.io/wasmesh/proxy-init:v1alpha1, install/kubernetes/proxy-init/Dockerfile).
	InitImage string
	// XDSAddress and ModulesAddress are the control plane's Service (host:port), e.g.
	// wasmesh-controlplane.wasmesh-system.svc:18000.
	XDSAddress, ModulesAddress string
	// Token mints the xDS credential of a node id (xds.Credentials.Token).
	Token func(nodeID string) string
	// Random supplies the characters of a generated pod name (default crypto/rand).
	Random func(n int) string
}

func (c Config) withDefaults() Config {
	if c.ProxyImage == "" {
		c.ProxyImage = "docker.io/envoyproxy/envoy:v1.40.0"
	}
	if c.InitImage == "" {
		c.InitImage = "ghcr.io/wasmesh/proxy-init:v1alpha1"
	}
	if c.Random == nil {
		c.Random = randomSuffix
	}
	return c
}

// Wanted reports whether a pod in a namespace with the given labels is to be injected: the
// pod opts out (label or annotation false) → no; already injected → no; the pod opts in
// (label true) or its namespace does (label enabled) → yes.
func Wanted(pod *corev1.Pod, namespaceLabels map[string]string) bool {
	if pod.Labels[InjectLabel] == "false" || pod.Annotations[InjectLabel] == "false" {
		return false
	}
	if slices.ContainsFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == SidecarName }) {
		return false
	}
	return pod.Labels[InjectLabel] == "true" || namespaceLabels[InjectLabel] == "enabled"
}

// Inject returns a copy of the pod with the sidecar, its bootstrap and the capture init
// container added (the pod is named first when it has only a generateName). namespace is
// the pod's namespace when its metadata names none (as in an admission request).
func (c Config) Inject(in *corev1.Pod, namespace string) (*corev1.Pod, error) {
	c = c.withDefaults()
	if c.Token == nil {
		return nil, errors.New("inject: no credential minter (Config.Token)")
	}
	pod := in.DeepCopy()
	if pod.Namespace == "" {
		pod.Namespace = namespace
	}
	if pod.Name == "" {
		if pod.GenerateName == "" {
			return nil, errors.New("inject: the pod has neither a name nor a generateName")
		}
		pod.Name = pod.GenerateName + c.Random(5)
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, errors.New("inject: the pod has no container")
	}
	appPort, err := appPort(pod)
	if err != nil {
		return nil, err
	}
	service := pod.Labels[ServiceLabel]
	if service == "" {
		service = pod.Name
	}
	version := pod.Labels[kube.VersionLabel]
	if version == "" {
		version = kube.DefaultVersion
	}
	nodeID := pod.Name + "." + pod.Namespace
	boot, err := bootstrap.Render(bootstrap.Params{
		NodeID: nodeID, Service: service, Version: version,
		AppAddress:      "127.0.0.1:" + strconv.Itoa(appPort),
		InboundAddress:  "0.0.0.0:" + strconv.Itoa(InboundPort),
		OutboundAddress: "0.0.0.0:" + strconv.Itoa(OutboundPort),
		AdminAddress:    "127.0.0.1:" + strconv.Itoa(AdminPort),
		XDSAddress:      c.XDSAddress, ModulesAddress: c.ModulesAddress,
		XDSToken: c.Token(nodeID),
	})
	if err != nil {
		return nil, fmt.Errorf("inject pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[BootstrapAnnotation] = string(boot)
	pod.Annotations[StatusAnnotation] = "injected"

	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: VolumeName, VolumeSource: corev1.VolumeSource{
		DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{
			Path: "envoy.yaml", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + BootstrapAnnotation + "']"},
		}}},
	}})
	pod.Spec.InitContainers = append([]corev1.Container{c.initContainer()}, pod.Spec.InitContainers...)
	pod.Spec.Containers = append(pod.Spec.Containers, c.sidecar())
	return pod, nil
}

func appPort(pod *corev1.Pod) (int, error) {
	if s, ok := pod.Annotations[AppPortAnnotation]; ok {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return 0, fmt.Errorf("inject: annotation %s: %q is not a port", AppPortAnnotation, s)
		}
		return p, nil
	}
	for _, p := range pod.Spec.Containers[0].Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("inject: container %q declares no TCP port: declare the app's port or annotate the pod %s: <port>", pod.Spec.Containers[0].Name, AppPortAnnotation)
}

func (c Config) sidecar() corev1.Container {
	return corev1.Container{
		Name:         SidecarName,
		Image:        c.ProxyImage,
		Args:         []string{"-c", "/etc/wasmesh/envoy.yaml", "--log-level", "warn"},
		Ports:        []corev1.ContainerPort{{Name: "wasmesh-inbound", ContainerPort: InboundPort}},
		VolumeMounts: []corev1.VolumeMount{{Name: VolumeName, MountPath: "/etc/wasmesh", ReadOnly: true}},
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
		SecurityContext: &corev1.SecurityContext{
			RunAsUser: ptr.To[int64](ProxyUID), RunAsGroup: ptr.To[int64](ProxyUID), RunAsNonRoot: ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

// CaptureRules are the iptables (nat table) rules the init container applies: inbound TCP
// goes to the sidecar's inbound listener, except to the sidecar's own ports; outbound TCP
// goes to its outbound listener, except the sidecar's own traffic (its user id) and
// loopback.
func CaptureRules() []string {
	r := []string{
		"-N WASMESH_INBOUND", "-N WASMESH_IN_REDIRECT", "-N WASMESH_OUTPUT", "-N WASMESH_REDIRECT",
		fmt.Sprintf("-A WASMESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports %d", InboundPort),
		fmt.Sprintf("-A WASMESH_REDIRECT -p tcp -j REDIRECT --to-ports %d", OutboundPort),
		"-A PREROUTING -p tcp -j WASMESH_INBOUND",
	}
	for _, p := range []int{InboundPort, OutboundPort, AdminPort} {
		r = append(r, fmt.Sprintf("-A WASMESH_INBOUND -p tcp --dport %d -j RETURN", p))
	}
	r = append(r,
		"-A WASMESH_INBOUND -p tcp -j WASMESH_IN_REDIRECT",
		"-A OUTPUT -p tcp -j WASMESH_OUTPUT",
		fmt.Sprintf("-A WASMESH_OUTPUT -m owner --uid-owner %d -j RETURN", ProxyUID),
		"-A WASMESH_OUTPUT -d 127.0.0.1/32 -j RETURN",
		"-A WASMESH_OUTPUT -j WASMESH_REDIRECT",
	)
	return r
}

func (c Config) initContainer() corev1.Container {
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, r := range CaptureRules() {
		script.WriteString("iptables -t nat " + r + "\n")
	}
	return corev1.Container{
		Name:    InitName,
		Image:   c.InitImage,
		Command: []string{"sh", "-c", script.String()},
		SecurityContext: &corev1.SecurityContext{
			RunAsUser: ptr.To[int64](0), RunAsNonRoot: ptr.To(false),
			Capabilities: &corev1.Capabilities{
				Add: []corev1.Capability{"NET_ADMIN", "NET_RAW"}, Drop: []corev1.Capability{"ALL"}},
		},
	}
}

const alphabet = "bcdfghjklmnpqrstvwxz2456789" // the API server's generated-name alphabet

func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

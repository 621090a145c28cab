package kube

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/xds"
)

// Names of the installed objects.
const (
	ControlPlaneName = "wasmesh-controlplane"
	// XDSServiceName is the headless Service the sidecars reach the replicas at: their xDS
	// cluster (STRICT_DNS) gets every ready replica's address, and a sidecar whose replica
	// dies reconnects to another.
	XDSServiceName = "wasmesh-xds"
	SecretName     = "wasmesh-controlplane"
	// XDSKeyFile and the webhook files are the keys of the Secret, mounted at SecretDir.
	XDSKeyFile     = xds.KeyFile
	WebhookCert    = "webhook.crt"
	WebhookKey     = "webhook.key"
	SecretDir      = "/etc/wasmesh"
	XDSPort        = 18000
	HTTPPort       = 18001
	WebhookPort    = 9443
	ValidateHook   = "validate.wasmesh.io"
	InjectHook     = "inject.wasmesh.io"
	InjectPodHook  = "inject-pod.wasmesh.io"
	StatusLease    = "wasmesh-status"
	installComment = "# wasmesh Kubernetes install (wasmesh install --kubernetes): namespace, RBAC, CRDs, the\n# control plane (Deployment, Service, Secret) and its admission webhooks. docs/kubernetes.md.\n"
)

// InstallOptions configures Install.
type InstallOptions struct {
	// Namespace of the control plane (default wasmesh-system).
	Namespace string
	// Image is the control plane's image: the wasmesh binary and the built-in modules under
	// /modules (default ghcr.io/wasmesh/wasmesh:v1alpha1).
	Image string
	// ProxyImage and InitImage are what the injector adds to pods (defaults: inject.Config).
	ProxyImage, InitImage string
	// Replicas of the control plane (default 2).
	Replicas int
	// XDSKey is the sidecars' credential key shared by the replicas (32 random bytes).
	XDSKey []byte
	// CA, Cert and Key (PEM) are the webhooks' serving certificate for
	// <ControlPlaneName>.<namespace>.svc and the CA the API server trusts it with.
	CA, Cert, Key []byte
}

// WebhookHost is the DNS name the API server calls the webhooks at.
func WebhookHost(namespace string) string { return ControlPlaneName + "." + namespace + ".svc" }

func (o InstallOptions) withDefaults() InstallOptions {
	if o.Namespace == "" {
		o.Namespace = "wasmesh-system"
	}
	if o.Image == "" {
		o.Image = "ghcr.io/wasmesh/wasmesh:v1alpha1"
	}
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	return o
}

// Install renders the install manifests: the namespace, the CRDs, RBAC for the control
// plane, the Secret holding the xDS key and the webhook certificate, the control plane's
// Service and Deployment, and the validating and mutating webhook configurations.
func Install(o InstallOptions) ([]byte, error) {
	o = o.withDefaults()
	if len(o.XDSKey) < 16 || len(o.CA) == 0 || len(o.Cert) == 0 || len(o.Key) == 0 {
		return nil, errors.New("install: the xDS key and the webhook certificate are required")
	}
	ns := o.Namespace
	labels := map[string]any{"app": ControlPlaneName}
	objs := []map[string]any{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}},
	}
	crds, err := CRDs()
	if err != nil {
		return nil, err
	}
	objs = append(objs, crds...)
	var plurals, statuses []any
	for _, k := range crd.Kinds() {
		plurals = append(plurals, Plural(k))
		statuses = append(statuses, Plural(k)+"/status")
	}
	meta := func(name string) map[string]any {
		return map[string]any{"name": name, "namespace": ns, "labels": labels}
	}
	// The control plane's Services are not mesh Services.
	svcMeta := func(name string) map[string]any {
		return map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app": ControlPlaneName, DiscoverLabel: "false"}}
	}
	objs = append(objs,
		map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ControlPlaneName)},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
			"metadata": map[string]any{"name": ControlPlaneName, "labels": labels},
			"rules": []any{
				rule([]any{Group}, plurals, "get", "list", "watch"),
				rule([]any{Group}, statuses, "get", "update", "patch"),
				rule([]any{""}, []any{"services", "pods", "namespaces"}, "get", "list", "watch"),
				rule([]any{"discovery.k8s.io"}, []any{"endpointslices"}, "get", "list", "watch"),
			}},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": map[string]any{"name": ControlPlaneName, "labels": labels},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ControlPlaneName},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": ControlPlaneName, "namespace": ns}}},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(ControlPlaneName),
			"rules": []any{rule([]any{"coordination.k8s.io"}, []any{"leases"}, "get", "list", "watch", "create", "update", "patch")}},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(ControlPlaneName),
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ControlPlaneName},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": ControlPlaneName, "namespace": ns}}},
		map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": meta(SecretName), "type": "Opaque",
			"data": map[string]any{
				XDSKeyFile:  b64(xds.EncodeKey(o.XDSKey)),
				WebhookCert: b64(o.Cert), WebhookKey: b64(o.Key),
			}},
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": svcMeta(ControlPlaneName),
			"spec": map[string]any{"selector": labels, "ports": []any{
				port("grpc-xds", XDSPort, XDSPort), port("http", HTTPPort, HTTPPort), port("https-webhook", 443, WebhookPort)}}},
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": svcMeta(XDSServiceName),
			"spec": map[string]any{"clusterIP": "None", "selector": labels, "ports": []any{
				port("grpc-xds", XDSPort, XDSPort), port("http", HTTPPort, HTTPPort)}}},
		deployment(o, meta(ControlPlaneName), labels),
	)
	hookURL := func(path string) map[string]any {
		return map[string]any{"caBundle": b64(o.CA), "service": map[string]any{"name": ControlPlaneName, "namespace": ns, "path": path, "port": 443}}
	}
	objs = append(objs,
		map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
			"metadata": map[string]any{"name": "wasmesh", "labels": labels},
			"webhooks": []any{map[string]any{
				"name": ValidateHook, "clientConfig": hookURL(ValidatePath),
				"rules":         []any{hookRule([]any{Group}, []any{Version}, []any{"*"}, "CREATE", "UPDATE", "DELETE")},
				"failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": []any{"v1"}, "timeoutSeconds": 30,
			}}},
		map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
			"metadata": map[string]any{"name": "wasmesh", "labels": labels},
			"webhooks": []any{
				injectHook(InjectHook, hookURL(injectPath),
					map[string]any{"matchLabels": map[string]any{"wasmesh.io/inject": "enabled"}},
					map[string]any{"matchExpressions": []any{map[string]any{"key": "wasmesh.io/inject", "operator": "NotIn", "values": []any{"false"}}}}),
				injectHook(InjectPodHook, hookURL(injectPath),
					map[string]any{"matchExpressions": []any{map[string]any{"key": "wasmesh.io/inject", "operator": "NotIn", "values": []any{"enabled"}}}},
					map[string]any{"matchLabels": map[string]any{"wasmesh.io/inject": "true"}}),
			}},
	)
	var b strings.Builder
	b.WriteString(installComment)
	for _, obj := range objs {
		y, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return []byte(b.String()), nil
}

// injectPath is inject.Path (the inject package imports this one).
const injectPath = "/inject"

func injectHook(name string, client, nsSel, objSel map[string]any) map[string]any {
	return map[string]any{
		"name": name, "clientConfig": client,
		"rules":             []any{hookRule([]any{""}, []any{"v1"}, []any{"pods"}, "CREATE")},
		"namespaceSelector": nsSel, "objectSelector": objSel,
		// Fail: a pod that opted in is not created without its sidecar (it would be outside
		// the mesh without anyone noticing).
		"failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": []any{"v1"},
		"reinvocationPolicy": "Never", "timeoutSeconds": 10,
	}
}

func deployment(o InstallOptions, meta, labels map[string]any) map[string]any {
	args := []any{
		"serve", "--kubernetes",
		fmt.Sprintf("--xds=0.0.0.0:%d", XDSPort), fmt.Sprintf("--http=0.0.0.0:%d", HTTPPort),
		fmt.Sprintf("--webhook=0.0.0.0:%d", WebhookPort),
		"--modules=/modules", "--data-dir=/var/lib/wasmesh",
		"--xds-key-file=" + SecretDir + "/" + XDSKeyFile,
		"--webhook-cert=" + SecretDir + "/" + WebhookCert, "--webhook-key=" + SecretDir + "/" + WebhookKey,
		"--control-plane-namespace=" + o.Namespace,
		fmt.Sprintf("--sidecar-xds=%s.%s.svc:%d", XDSServiceName, o.Namespace, XDSPort),
		fmt.Sprintf("--sidecar-modules=%s.%s.svc:%d", XDSServiceName, o.Namespace, HTTPPort),
	}
	if o.ProxyImage != "" {
		args = append(args, "--proxy-image="+o.ProxyImage)
	}
	if o.InitImage != "" {
		args = append(args, "--proxy-init-image="+o.InitImage)
	}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
		"spec": map[string]any{
			"replicas": o.Replicas,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"serviceAccountName": ControlPlaneName,
					"containers": []any{map[string]any{
						"name": "controlplane", "image": o.Image, "args": args,
						"env": []any{map[string]any{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}}},
						"ports": []any{
							map[string]any{"name": "grpc-xds", "containerPort": XDSPort},
							map[string]any{"name": "http", "containerPort": HTTPPort},
							map[string]any{"name": "https-webhook", "containerPort": WebhookPort},
						},
						"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": HTTPPort}},
						"volumeMounts": []any{
							map[string]any{"name": "secret", "mountPath": SecretDir, "readOnly": true},
							map[string]any{"name": "data", "mountPath": "/var/lib/wasmesh"},
						},
						"securityContext": map[string]any{"runAsNonRoot": true, "runAsUser": 65532, "allowPrivilegeEscalation": false,
							"readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}}},
					}},
					"volumes": []any{
						map[string]any{"name": "secret", "secret": map[string]any{"secretName": SecretName}},
						map[string]any{"name": "data", "emptyDir": map[string]any{}},
					},
				},
			},
		},
	}
}

func rule(groups, resources []any, verbs ...string) map[string]any {
	return map[string]any{"apiGroups": groups, "resources": resources, "verbs": toAny(verbs)}
}

func hookRule(groups, versions, resources []any, ops ...string) map[string]any {
	return map[string]any{"apiGroups": groups, "apiVersions": versions, "resources": resources,
		"operations": toAny(ops), "scope": "Namespaced"}
}

func port(name string, port, target int) map[string]any {
	return map[string]any{"name": name, "port": port, "targetPort": target}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

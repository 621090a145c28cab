package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/kube/inject"
	"github.com/wasmesh/wasmesh/controlplane/kube/pki"
	"github.com/wasmesh/wasmesh/controlplane/xds"
)

// kubeFlags are `wasmesh serve --kubernetes`'s flags (docs/kubernetes.md).
type kubeFlags struct {
	enabled                    *bool
	kubeconfig, webhook        *string
	webhookCert, webhookKey    *string
	xdsKeyFile, cpNamespace    *string
	watchNamespace             *string
	sidecarXDS, sidecarModules *string
	proxyImage, proxyInitImage *string
}

func registerKubeFlags(fs *flag.FlagSet) *kubeFlags {
	return &kubeFlags{
		enabled:        fs.Bool("kubernetes", false, "Kubernetes mode: read resources, Services, EndpointSlices and pods from the API server (in-cluster, or --kubeconfig) instead of the store; serve the admission webhooks"),
		kubeconfig:     fs.String("kubeconfig", "", "Kubernetes mode: kubeconfig file (default: in-cluster configuration)"),
		webhook:        fs.String("webhook", "0.0.0.0:9443", "Kubernetes mode: admission webhooks' TLS listen address"),
		webhookCert:    fs.String("webhook-cert", "", "Kubernetes mode: the webhooks' serving certificate (PEM file)"),
		webhookKey:     fs.String("webhook-key", "", "Kubernetes mode: the webhooks' private key (PEM file)"),
		xdsKeyFile:     fs.String("xds-key-file", "", "Kubernetes mode: the sidecar credential key shared by every replica (hex, from the Secret)"),
		cpNamespace:    fs.String("control-plane-namespace", "wasmesh-system", "Kubernetes mode: the control plane's namespace (its Service lists the replicas; the status Lease lives there)"),
		watchNamespace: fs.String("watch-namespace", "", "Kubernetes mode: read only this namespace (default: every namespace)"),
		sidecarXDS:     fs.String("sidecar-xds", "", "Kubernetes mode: the xDS address injected sidecars use (host:port of the control plane Service)"),
		sidecarModules: fs.String("sidecar-modules", "", "Kubernetes mode: the module server address injected sidecars use"),
		proxyImage:     fs.String("proxy-image", "", "Kubernetes mode: the sidecar image the injector adds (stock Envoy >= 1.39)"),
		proxyInitImage: fs.String("proxy-init-image", "", "Kubernetes mode: the init container image that sets up the traffic capture (iptables)"),
	}
}

// serveKubernetes runs a control-plane replica in Kubernetes mode until ctx ends.
func serveKubernetes(ctx context.Context, kf *kubeFlags, dataDir, xdsAddr, httpAddr, modules string, log *slog.Logger, stdout io.Writer) error {
	var cfg *rest.Config
	var err error
	if *kf.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", *kf.kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return fmt.Errorf("kubernetes: %w (outside a cluster, pass --kubeconfig)", err)
	}
	read := func(flagName, path string) ([]byte, error) {
		if path == "" {
			return nil, fmt.Errorf("kubernetes mode needs --%s", flagName)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagName, err)
		}
		return b, nil
	}
	keyHex, err := read("xds-key-file", *kf.xdsKeyFile)
	if err != nil {
		return err
	}
	key, err := xds.DecodeKey(keyHex)
	if err != nil {
		return fmt.Errorf("--xds-key-file: not hex: %w", err)
	}
	cert, err := read("webhook-cert", *kf.webhookCert)
	if err != nil {
		return err
	}
	pkey, err := read("webhook-key", *kf.webhookKey)
	if err != nil {
		return err
	}
	klog.SetSlogLogger(log) // client-go's own log (watches, leader election) goes to ours
	identity := os.Getenv("POD_NAME")
	kcfg := controlplane.KubernetesConfig{
		Rest: cfg, Namespace: *kf.watchNamespace, XDSAddress: xdsAddr, HTTPAddress: httpAddr,
		WebhookAddress: *kf.webhook, WebhookCert: cert, WebhookKey: pkey, XDSKey: key,
		DataDir: dataDir, ModulesDir: modules, Identity: identity, Log: log,
	}
	if *kf.sidecarModules != "" {
		kcfg.ModulesURL = "http://" + *kf.sidecarModules
	}
	kcfg.Status.LeaseNamespace, kcfg.Status.LeaseName = *kf.cpNamespace, kube.StatusLease
	kcfg.PeerService.Namespace, kcfg.PeerService.Name, kcfg.PeerService.Port = *kf.cpNamespace, kube.ControlPlaneName, "http"
	// Checked here for the flag's name in the message; StartKubernetes mints with it.
	if _, err := xds.NewCredentials(key); err != nil {
		return fmt.Errorf("--xds-key-file: %w", err)
	}
	kcfg.Inject = &inject.Config{
		ProxyImage: *kf.proxyImage, InitImage: *kf.proxyInitImage,
		XDSAddress: *kf.sidecarXDS, ModulesAddress: *kf.sidecarModules,
	}
	cp, err := controlplane.StartKubernetes(ctx, kcfg)
	if err != nil {
		return err
	}
	defer cp.Close()
	fmt.Fprintf(stdout, "wasmesh serve --kubernetes: replica %q reading %s\n", identity, cfg.Host)
	fmt.Fprintf(stdout, "  xDS (ADS, gRPC)   %s\n  modules, health   http://%s\n  webhooks (TLS)    %s\n", cp.XDSAddr, cp.HTTPAddr, cp.WebhookAddr)
	<-ctx.Done()
	fmt.Fprintln(stdout, "wasmesh serve: stopping")
	if err := cp.Close(); err != nil {
		return err
	}
	return cp.Err()
}

// runInstall prints the Kubernetes install manifests.
func runInstall(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	k8s := fs.Bool("kubernetes", false, "print the Kubernetes manifests (required: the only target)")
	crdsOnly := fs.Bool("crds", false, "print only the CustomResourceDefinitions (install/kubernetes/crds.yaml)")
	ns := fs.String("namespace", "wasmesh-system", "the control plane's namespace")
	image := fs.String("image", "", "the control plane image (default ghcr.io/wasmesh/wasmesh:v1alpha1)")
	proxy := fs.String("proxy-image", "", "the sidecar image the injector adds (default docker.io/envoyproxy/envoy:v1.40.0)")
	initImage := fs.String("proxy-init-image", "", "the capture init container image (default ghcr.io/wasmesh/proxy-init:v1alpha1)")
	replicas := fs.Int("replicas", 2, "control plane replicas")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh install --kubernetes [flags] | kubectl apply -f -\n\n"+
			"Prints the manifests installing wasmesh in a cluster: namespace, RBAC, CRDs, the control plane\n"+
			"Deployment and Service, a Secret with a fresh xDS key and webhook certificate, and the\n"+
			"validating and mutating (sidecar injection) webhooks. docs/kubernetes.md.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*k8s {
		return &exitError{code: 2, err: fmt.Errorf("--kubernetes is required (the only install target)")}
	}
	if *crdsOnly {
		b, err := kube.CRDManifest()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ca, cert, pkey, err := pki.ServingCert(kube.WebhookHost(*ns))
	if err != nil {
		return err
	}
	b, err := kube.Install(kube.InstallOptions{Namespace: *ns, Image: *image, ProxyImage: *proxy, InitImage: *initImage,
		Replicas: *replicas, XDSKey: key, CA: ca, Cert: cert, Key: pkey})
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

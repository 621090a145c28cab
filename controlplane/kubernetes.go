package controlplane

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/kube/inject"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/xds"
)

// KubernetesConfig configures StartKubernetes (docs/kubernetes.md). Zero values take the
// documented defaults.
type KubernetesConfig struct {
	// Rest reaches the API server (in a pod: rest.InClusterConfig).
	Rest *rest.Config
	// Namespace limits the watched resources to one namespace ("" = every namespace).
	Namespace string
	// XDSAddress is the ADS listen address (default api.DefaultXDSAddress).
	XDSAddress string
	// HTTPAddress serves the modules, /healthz and the replica's status report (default
	// api.DefaultHTTPAddress).
	HTTPAddress string
	// ModulesURL is the module server URL written into the sidecars' configuration (default
	// http://<HTTPAddress as bound>); in a cluster, the control plane Service's name.
	ModulesURL string
	// WebhookAddress serves the admission webhooks over TLS with WebhookCert and WebhookKey
	// (PEM); no webhook listener without a certificate.
	WebhookAddress          string
	WebhookCert, WebhookKey []byte
	// Inject, when set, configures the sidecar injector served beside the validating webhook
	// (inject.Path); its Token is the replica's credentials' (XDSKey), and it reads the
	// namespaces' labels from the API server.
	Inject *inject.Config
	// XDSKey is the key the sidecars' xDS credentials are derived from, shared by every
	// replica (a Secret in a cluster).
	XDSKey []byte
	// DataDir holds the module cache (default api.DefaultDataDir()).
	DataDir string
	// ModulesDir holds the built-in filter modules (build/*.wasm).
	ModulesDir string
	// EndpointAddress rewrites the EndpointSlices' addresses (kube.SourceConfig; tests).
	EndpointAddress func(string) string
	// Identity names this replica (its pod name) in the status Lease.
	Identity string
	// Status configures the status writer's election; Peers, when nil, defaults to the
	// replicas listed by PeerService's EndpointSlices, or to this replica alone.
	Status kube.StatusConfig
	// PeerService names the control plane's own Service (namespace/name, port name) whose
	// EndpointSlices list the replicas' HTTP addresses.
	PeerService struct{ Namespace, Name, Port string }
	Log         *slog.Logger
}

// KubernetesControlPlane is a running control-plane replica in Kubernetes mode.
type KubernetesControlPlane struct {
	XDS         *xds.Server
	Source      *kube.Source
	Credentials *xds.Credentials
	Admission   *kube.Admission
	// Builtins maps the built-in module file names to their sha256.
	Builtins                       map[string]string
	XDSAddr, HTTPAddr, WebhookAddr string

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closers []func() error
	err     firstErr
	once    sync.Once
}

// StartKubernetes starts a control-plane replica reading the API server: the source's
// informers feed the xDS server (the same translate → xDS path as the standalone store),
// the validating webhook runs the same admission as `wasmesh apply`, and the replica takes
// part in the status writer's election. It returns once every listener is bound.
func StartKubernetes(ctx context.Context, cfg KubernetesConfig) (*KubernetesControlPlane, error) {
	if cfg.XDSAddress == "" {
		cfg.XDSAddress = api.DefaultXDSAddress
	}
	if cfg.HTTPAddress == "" {
		cfg.HTTPAddress = api.DefaultHTTPAddress
	}
	if cfg.DataDir == "" {
		cfg.DataDir = api.DefaultDataDir()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rest == nil {
		return nil, errors.New("kubernetes: no API server configuration")
	}
	creds, err := xds.NewCredentials(cfg.XDSKey)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w (the shared key of every replica: docs/kubernetes.md)", err)
	}
	kc, err := kubernetes.NewForConfig(cfg.Rest)
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(cfg.Rest)
	if err != nil {
		return nil, err
	}
	// Without the CRDs the informers would wait forever: say what to install instead.
	for _, k := range crd.Kinds() {
		_, err := dc.Resource(kube.GVR(k)).List(ctx, metav1.ListOptions{Limit: 1})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("kubernetes: the CustomResourceDefinition %s.%s is not installed: kubectl apply -f install/kubernetes/crds.yaml (or wasmesh install --kubernetes --crds)", kube.Plural(k), kube.Group)
		}
		if err != nil {
			return nil, fmt.Errorf("kubernetes: list %s: %w", kube.Plural(k), err)
		}
	}
	cp := &KubernetesControlPlane{Credentials: creds}
	ok := false
	defer func() {
		if !ok {
			_ = cp.Close()
		}
	}()
	src := kube.NewSource(kube.SourceConfig{Kube: kc, Dynamic: dc, Namespace: cfg.Namespace, Log: cfg.Log, EndpointAddress: cfg.EndpointAddress})
	cp.Source = src
	referenced := func() (map[string]bool, error) { return pluginModules(src.Set()), nil }
	mods, err := newDirModules(filepath.Join(cfg.DataDir, "modules"), cfg.ModulesDir, ModuleLimits{}, referenced)
	if err != nil {
		return nil, err
	}
	cp.Builtins = mods.Builtins()

	listen := func(addr, what string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		cp.closers = append(cp.closers, closeListener(ln))
		return ln, nil
	}
	httpLn, err := listen(cfg.HTTPAddress, "http")
	if err != nil {
		return nil, err
	}
	cp.HTTPAddr = httpLn.Addr().String()
	if cfg.ModulesURL == "" {
		cfg.ModulesURL = "http://" + cp.HTTPAddr
	}
	xdsLn, err := listen(cfg.XDSAddress, "xds")
	if err != nil {
		return nil, err
	}
	cp.XDSAddr = xdsLn.Addr().String()
	opts := translate.Options{ModulesURL: cfg.ModulesURL, Builtins: mods.Builtins()}
	srv := xds.New(xds.Config{Options: opts, Log: cfg.Log, Auth: creds})
	cp.XDS = srv

	runner, closeRunner, err := newDryRunner(ctx, cfg.Log)
	if err != nil {
		return nil, err
	}
	cp.closers = append(cp.closers, closeRunner)
	cp.Admission = &kube.Admission{
		Current: src.Set,
		Fresh:   src.Fresh,
		// The same stages as the standalone control plane's; the API server commits.
		Pipeline: admission.New(admission.Config{
			Policy:  []crd.Checker{NoMutualTLSChecker},
			Filters: filterParsers(opts),
			Modules: kube.ModuleChecker(mods.Has),
			DryRun:  admission.PluginDryRun(mods, runner),
		}),
		Log: cfg.Log,
	}

	mux := http.NewServeMux()
	mux.Handle("GET /modules/", mods)
	mux.Handle("GET "+kube.NodesPath, kube.NodesHandler(src, srv.ResourceNodes))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	servers := []*http.Server{{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	serve := []func() error{func() error { return servers[0].Serve(httpLn) }}
	if len(cfg.WebhookCert) > 0 {
		cert, err := tls.X509KeyPair(cfg.WebhookCert, cfg.WebhookKey)
		if err != nil {
			return nil, fmt.Errorf("webhook certificate: %w", err)
		}
		wln, err := listen(cfg.WebhookAddress, "webhook")
		if err != nil {
			return nil, err
		}
		cp.WebhookAddr = wln.Addr().String()
		wmux := http.NewServeMux()
		wmux.Handle("POST "+kube.ValidatePath, cp.Admission)
		if cfg.Inject != nil {
			ic := *cfg.Inject
			ic.Token = creds.Token
			wmux.Handle("POST "+inject.Path, &inject.Webhook{
				Config: ic,
				NamespaceLabels: func(ctx context.Context, ns string) (map[string]string, error) {
					n, err := kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
					if err != nil {
						return nil, err
					}
					return n.Labels, nil
				},
				Log: cfg.Log,
			})
		}
		ws := &http.Server{Handler: wmux, ReadHeaderTimeout: 10 * time.Second,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
		servers = append(servers, ws)
		serve = append(serve, func() error { return ws.ServeTLS(wln, "", "") })
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cp.cancel = cancel
	for i, s := range servers {
		cp.closers = append(cp.closers, func() error {
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			return s.Shutdown(sctx)
		})
		cp.goRun(func() error {
			if err := serve[i](); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http: %w", err)
			}
			return nil
		})
	}
	cp.goRun(func() error { return srv.Serve(runCtx, xdsLn) })
	cp.goRun(func() error { return src.Run(runCtx, srv.Update) })
	st := cfg.Status
	st.Kube, st.Dynamic, st.Source, st.Nodes, st.Changed, st.Log = kc, dc, src, srv.ResourceNodes, srv.Changed, cfg.Log
	if st.Identity == "" {
		st.Identity = cmp.Or(cfg.Identity, cp.HTTPAddr)
	}
	if st.Peers == nil && cfg.PeerService.Name != "" {
		st.Peers = kube.EndpointPeers(src, cfg.PeerService.Namespace, cfg.PeerService.Name, cfg.PeerService.Port)
	}
	cp.goRun(func() error { return kube.RunStatus(runCtx, st) })
	ok = true
	return cp, nil
}

func (cp *KubernetesControlPlane) goRun(f func() error) {
	cp.wg.Add(1)
	go func() {
		defer cp.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			cp.err.set(err)
		}
	}()
}

// Err returns the first error a server goroutine stopped with, or nil.
func (cp *KubernetesControlPlane) Err() error { return cp.err.get() }

// SidecarToken returns the xDS credential of a sidecar node id.
func (cp *KubernetesControlPlane) SidecarToken(nodeID string) string {
	return cp.Credentials.Token(nodeID)
}

// WaitSynced blocks until the source has built its first set from the API server.
func (cp *KubernetesControlPlane) WaitSynced(ctx context.Context) error {
	for cp.Source.Revision() == 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// Close stops the replica: its status election (releasing the Lease), the xDS server, the
// listeners.
func (cp *KubernetesControlPlane) Close() error {
	var errs []error
	cp.once.Do(func() {
		if cp.cancel != nil {
			cp.cancel()
		}
		for i := len(cp.closers) - 1; i >= 0; i-- {
			errs = append(errs, cp.closers[i]())
		}
		cp.wg.Wait()
	})
	return errors.Join(errs...)
}

// NoMutualTLSChecker refuses a TransportPolicy other than DISABLE: Kubernetes mode issues no
// certificates yet (its replicas would need one shared CA), and a sidecar told to require or
// originate mTLS without them could serve nothing. docs/kubernetes.md says so.
var NoMutualTLSChecker = crd.CheckerFunc(func(_ context.Context, set *crd.Set, changed []crd.Key) error {
	var errs []error
	for _, p := range set.TransportPolicies {
		if k := crd.KeyOf(p); slices.Contains(changed, k) && p.Spec.Mode != crd.ModeDisable {
			errs = append(errs, &crd.ObjectError{Key: k, Err: &crd.FieldError{Path: "spec.mode",
				Err: fmt.Errorf("%s needs the mesh CA, which Kubernetes mode does not run yet: use DISABLE here, or standalone mode for mutual TLS (docs/kubernetes.md)", p.Spec.Mode)}})
		}
	}
	return errors.Join(errs...)
})

package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/admission/dryrun"
	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/observe"
	"github.com/wasmesh/wasmesh/controlplane/store"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/ui"
	"github.com/wasmesh/wasmesh/controlplane/xds"
	"github.com/wasmesh/wasmesh/testenv"
)

// Config configures Start. Zero values take the documented defaults.
type Config struct {
	// DataDir holds the store and the API token (default api.DefaultDataDir()).
	DataDir string
	// XDSAddress is the ADS listen address (default api.DefaultXDSAddress).
	XDSAddress string
	// HTTPAddress is the API and module server listen address (default
	// api.DefaultHTTPAddress).
	HTTPAddress string
	// ModulesDir holds the built-in filter modules (build/*.wasm), served by sha256.
	ModulesDir string
	// Token is the API bearer token (default: the data directory's, generated if absent).
	Token string
	// Checkers are extra checks run on every apply (admission's policy stage, after the
	// references and before the filter parsers).
	Checkers []crd.Checker
	// DryRunner dry-runs WasmPlugins on apply (default: controlplane/admission/dryrun, on testenv).
	DryRunner admission.DryRunner
	// ModuleLimits bound the module store (concurrent uploads, storage; docs/cli.md).
	ModuleLimits ModuleLimits
	// Log receives the control plane's log (default: discarded).
	Log *slog.Logger
	// Prometheus, when set, is the URL of a Prometheus server scraping the sidecars: the
	// graph asks it (PromQL) instead of scraping the sidecars' admins itself.
	Prometheus string
	// Scrape configures the built-in scraper of the sidecars' admins (zero: defaults;
	// Targets is filled by Start).
	Scrape observe.ScraperConfig
	// Traces bounds the traces kept from the sidecars' Zipkin spans.
	Traces observe.TracesConfig
	// CA configures the mesh certificate authority: trust domain, certificate TTL and
	// rotation jitter, a provided root or intermediate (default: a root generated under
	// <data dir>/ca; docs/security.md).
	CA ca.Options
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	// Store is the resource store.
	Store *store.Store
	// Token is the API bearer token.
	Token string
	// HTTPAddr and XDSAddr are the addresses actually listened on.
	HTTPAddr, XDSAddr string
	// DataDir is the data directory in use.
	DataDir string
	// Builtins maps the built-in module file names to their sha256.
	Builtins map[string]string
	// XDS is the xDS server (its status and WaitAcked are what tests and tools wait on).
	XDS *xds.Server
	// Credentials mint the sidecars' xDS credentials (key in <data dir>/xds-key).
	Credentials *xds.Credentials
	// Metrics is where the graph reads traffic: Scraper, or a Prometheus server.
	Metrics observe.Source
	// Scraper reads the sidecars' admins (nil with Config.Prometheus).
	Scraper *observe.Scraper
	// Traces keeps the spans sidecars send to POST /api/v2/spans.
	Traces *observe.Traces
	// CA issues the sidecars' identity certificates.
	CA *ca.CA

	log     *slog.Logger
	httpSrv *http.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	err     firstErr
	closeMu sync.Once
	closers []func() error
}

// Start opens the store and starts the xDS server, the module server and the API. It returns
// once every listener is bound; Close stops everything.
func Start(ctx context.Context, cfg Config) (*ControlPlane, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = api.DefaultDataDir()
	}
	if cfg.XDSAddress == "" {
		cfg.XDSAddress = api.DefaultXDSAddress
	}
	if cfg.HTTPAddress == "" {
		cfg.HTTPAddress = api.DefaultHTTPAddress
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	token := cfg.Token
	if token == "" {
		t, err := api.EnsureToken(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		token = t
	}
	key, err := xds.EnsureKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	creds, err := xds.NewCredentials(key)
	if err != nil {
		return nil, err
	}
	authority, err := ca.Load(cfg.DataDir, cfg.CA)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.DataDir, store.Options{})
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Store: st, Token: token, DataDir: cfg.DataDir, Credentials: creds, CA: authority, log: cfg.Log}
	ok := false
	defer func() {
		if !ok {
			_ = cp.Close()
		}
	}()

	mods, err := newDirModules(filepath.Join(cfg.DataDir, "modules"), cfg.ModulesDir, cfg.ModuleLimits, referencedModules(st))
	if err != nil {
		return nil, err
	}
	cp.Builtins = mods.Builtins()

	// The HTTP listener first: Envoy fetches modules from its address.
	ln, err := net.Listen("tcp", cfg.HTTPAddress)
	if err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	cp.HTTPAddr = ln.Addr().String()
	cp.closers = append(cp.closers, closeListener(ln))

	opts := translate.Options{ModulesURL: "http://" + cp.HTTPAddr, Builtins: mods.Builtins(), TrustDomain: authority.TrustDomain()}
	x, err := startXDS(cfg, opts, st, creds, authority)
	if err != nil {
		return nil, err
	}
	cp.XDSAddr = x.addr
	cp.XDS = x.server
	cp.closers = append(cp.closers, x.close)

	if cfg.DryRunner == nil {
		r, closeRunner, err := newDryRunner(ctx, cfg.Log)
		if err != nil {
			return nil, err
		}
		cp.closers = append(cp.closers, closeRunner)
		cfg.DryRunner = r
	}
	adm := admission.New(admission.Config{
		Store:   st,
		Policy:  cfg.Checkers,
		Filters: filterParsers(opts),
		Modules: admission.FetchModules(mods, admission.FetchOptions{MaxBytes: api.MaxModuleBytes}),
		DryRun:  admission.PluginDryRun(mods, cfg.DryRunner),
	})
	if err := cp.startObserve(cfg, x.status); err != nil {
		return nil, err
	}
	apiSrv, err := api.NewServer(api.Config{Store: st, Token: token, Admission: adm, Modules: mods, Status: x.status, Credentials: creds, Log: cfg.Log,
		Metrics: cp.Metrics, Traces: cp.Traces})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", apiSrv)
	mux.Handle("GET /modules/", mods)
	mux.Handle(api.ZipkinPath, api.SpansHandler(cp.Traces))
	mux.Handle("/", ui.Handler())
	cp.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cp.cancel = cancel
	cp.wg.Add(1)
	go func() {
		defer cp.wg.Done()
		if err := cp.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cp.fail(fmt.Errorf("http: %w", err))
		}
	}()
	if cp.Scraper != nil {
		cp.wg.Add(1)
		go func() {
			defer cp.wg.Done()
			cp.Scraper.Run(runCtx)
		}()
	}
	if x.run != nil {
		cp.wg.Add(1)
		go func() {
			defer cp.wg.Done()
			if err := x.run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				cp.fail(fmt.Errorf("xds: %w", err))
			}
		}()
	}
	ok = true
	return cp, nil
}

func (cp *ControlPlane) fail(err error) {
	if cp.err.set(err) {
		cp.log.Error("control plane failed", "err", err)
	}
}

// Err returns the first error a server goroutine stopped with, or nil.
func (cp *ControlPlane) Err() error { return cp.err.get() }

// firstErr keeps the first error a control plane's goroutines stopped with.
type firstErr struct {
	mu  sync.Mutex
	err error
}

// set records err unless an error came first, and reports whether it did not.
func (f *firstErr) set(err error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false
	}
	f.err = err
	return true
}

func (f *firstErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// SidecarToken returns the xDS credential of a sidecar node id (what its bootstrap sends).
func (cp *ControlPlane) SidecarToken(nodeID string) string { return cp.Credentials.Token(nodeID) }

// Client returns an API client for this control plane.
func (cp *ControlPlane) Client() *api.Client {
	return &api.Client{BaseURL: "http://" + cp.HTTPAddr, Token: cp.Token}
}

// Close stops the servers (in-flight API requests get 5 seconds) and closes the store.
func (cp *ControlPlane) Close() error {
	var errs []error
	cp.closeMu.Do(func() {
		if cp.httpSrv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, cp.httpSrv.Shutdown(sctx))
			cancel()
		}
		if cp.cancel != nil {
			cp.cancel()
		}
		cp.wg.Wait()
		for _, c := range cp.closers {
			errs = append(errs, c())
		}
		errs = append(errs, cp.Store.Close())
	})
	return errors.Join(errs...)
}

// referencedModules returns the sha256s the stored WasmPlugins reference (the module store's
// garbage collection keeps them).
func referencedModules(st *store.Store) func() (map[string]bool, error) {
	return func() (map[string]bool, error) {
		set, _, err := st.List()
		if err != nil {
			return nil, err
		}
		return pluginModules(set), nil
	}
}

// pluginModules returns the sha256s a set's WasmPlugins reference.
func pluginModules(set *crd.Set) map[string]bool {
	refs := map[string]bool{}
	for _, p := range set.WasmPlugins {
		refs[p.Spec.Module.SHA256] = true
	}
	return refs
}

// newDryRunner starts the default WasmPlugin dry runner (on testenv, with its compilation
// cache when usable) and returns it with the function closing it.
func newDryRunner(ctx context.Context, log *slog.Logger) (*dryrun.Runner, func() error, error) {
	r, err := dryrun.New(ctx, testenv.DefaultCacheDir())
	if err != nil {
		return nil, nil, err
	}
	if p := r.CacheProblem(); p != "" {
		log.Warn("WasmPlugin dry runs without a compilation cache", "problem", p)
	}
	return r, func() error { return r.Close(context.Background()) }, nil
}

// closeListener returns a closer of ln that ignores its being closed already.
func closeListener(ln net.Listener) func() error {
	return func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}

// startObserve sets up the graph's metrics source and the trace store: a Prometheus server
// when the config names one, else the scraper of the sidecars the xDS server knows.
func (cp *ControlPlane) startObserve(cfg Config, status api.StatusSource) error {
	cp.Traces = observe.NewTraces(cfg.Traces)
	if cfg.Prometheus != "" {
		p, err := observe.NewPrometheus(cfg.Prometheus)
		if err != nil {
			return err
		}
		cp.Metrics = p
		return nil
	}
	sc := cfg.Scrape
	sc.Targets = func() []observe.Target {
		if status == nil {
			return nil
		}
		return ScrapeTargets(status.Nodes())
	}
	if sc.Log == nil {
		sc.Log = cfg.Log
	}
	s, err := observe.NewScraper(sc)
	if err != nil {
		return err
	}
	cp.Scraper, cp.Metrics = s, s
	return nil
}

// ScrapeTargets are the connected nodes with an admin address. An admin bound to every
// interface (0.0.0.0:15000, in a container) is read at the IP the node's xDS stream comes
// from.
func ScrapeTargets(nodes []api.SidecarStatus) []observe.Target {
	var out []observe.Target
	for _, n := range nodes {
		if !n.Connected || n.AdminAddress == "" {
			continue
		}
		admin := n.AdminAddress
		if host, port, err := net.SplitHostPort(admin); err == nil {
			if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
				if peer, _, err := net.SplitHostPort(n.PeerAddress); err == nil {
					admin = net.JoinHostPort(peer, port)
				}
			}
		}
		out = append(out, observe.Target{Node: n.ID, Service: n.Service, Version: n.Version, Admin: admin})
	}
	return out
}

// UIURL is the web UI's address, carrying the API token in the URL fragment.
func (cp *ControlPlane) UIURL() string { return ui.URL(cp.HTTPAddr, cp.Token) }

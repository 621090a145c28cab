package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/observe"
)

// runServe runs the control plane until Ctrl-C or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stdout, stderr)
}

// serve runs the control plane until ctx ends.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", api.DefaultDataDir(), "store and API token location ($WASMESH_HOME)")
	xdsAddr := fs.String("xds", api.DefaultXDSAddress, "xDS (ADS, gRPC) listen address")
	httpAddr := fs.String("http", api.DefaultHTTPAddress, "API and module server listen address")
	modules := fs.String("modules", "build", "folder of built filter modules (*.wasm) to serve")
	token := fs.String("token", "", "API bearer token (default: <data-dir>/token, generated when absent)")
	verbose := fs.Bool("v", false, "log every refused request and xDS event to stderr")
	uploads := fs.Int("max-uploads", 2, "modules stored at once (uploads, downloads); more wait")
	prom := fs.String("prometheus", "", "URL of a Prometheus scraping the sidecars (/stats/prometheus): the UI's graph asks it (PromQL) instead of scraping the sidecars' admins itself")
	scrapeRemote := fs.Bool("scrape-remote", false, "also read sidecar admins at non-loopback addresses for the graph (containers on a private network: an admin is unauthenticated, so only on a network you trust)")
	storageMiB := fs.Int64("module-storage", 1024, "MiB of uploaded modules kept; beyond, modules no resource references (uploaded over 15 minutes ago) are deleted, then uploads are refused")
	trustDomain := fs.String("trust-domain", ca.DefaultTrustDomain, "SPIFFE trust domain of the sidecars' identities (spiffe://<trust-domain>/ns/<namespace>/sa/<service>)")
	certTTL := fs.Duration("cert-ttl", ca.DefaultTTL, "lifetime of a sidecar's certificate; rotated at half of it")
	jitter := fs.Float64("rotation-jitter", ca.DefaultJitter, "fraction of the ttl a rotation may come before the half-life (0 < j < 0.5)")
	caCert := fs.String("ca-cert", "", "bring your own CA: a root or intermediate certificate (PEM) to sign with (default: a root generated under <data-dir>/ca)")
	caKey := fs.String("ca-key", "", "the key of --ca-cert (PEM)")
	caBundle := fs.String("ca-bundle", "", "the roots sidecars trust (PEM; required when --ca-cert is an intermediate)")
	kf := registerKubeFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh serve [flags]\n\n"+
			"Runs the control plane: the store, the xDS server for Envoy sidecars, the module server and\n"+
			"the HTTP API, until Ctrl-C.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if st, err := os.Stat(*modules); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "wasmesh serve: warning: no module folder %s (run `make build`); built-in filters cannot be served\n", *modules)
		*modules = ""
	}
	if *kf.enabled {
		return serveKubernetes(ctx, kf, *dataDir, *xdsAddr, *httpAddr, *modules, log, stdout)
	}
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir:      *dataDir,
		XDSAddress:   *xdsAddr,
		HTTPAddress:  *httpAddr,
		ModulesDir:   *modules,
		Token:        *token,
		Log:          log,
		Prometheus:   *prom,
		Scrape:       observe.ScraperConfig{AllowRemote: *scrapeRemote},
		ModuleLimits: controlplane.ModuleLimits{Uploads: *uploads, Storage: *storageMiB << 20},
		CA: ca.Options{TrustDomain: *trustDomain, TTL: *certTTL, Jitter: *jitter,
			CertFile: *caCert, KeyFile: *caKey, BundleFile: *caBundle},
	})
	if err != nil {
		return err
	}
	defer cp.Close()
	rev, err := cp.Store.Revision()
	if err != nil {
		return err
	}
	tokenWhere := "given with --token"
	if *token == "" {
		tokenWhere = "token in " + filepath.Join(cp.DataDir, api.TokenFile)
	}
	fmt.Fprintf(stdout, "wasmesh serve: web UI http://%s/   (graph, status, traces; log in with the API token)\n", cp.HTTPAddr)
	fmt.Fprintf(stdout, "  data dir %s (store revision %d); graph metrics: %s\n", cp.DataDir, rev, cp.Metrics.Name())
	fmt.Fprintf(stdout, "  xDS (ADS, gRPC)   %s\n", cp.XDSAddr)
	fmt.Fprintf(stdout, "  API               http://%s%s   (%s)\n", cp.HTTPAddr, api.Prefix, tokenWhere)
	fmt.Fprintf(stdout, "  modules           http://%s/modules/<sha256>   (%d built-in", cp.HTTPAddr, len(cp.Builtins))
	if *modules != "" {
		fmt.Fprintf(stdout, " from %s: %v", *modules, slices.Sorted(maps.Keys(cp.Builtins)))
	}
	fmt.Fprintln(stdout, ")")
	caWhere := "root " + filepath.Join(cp.DataDir, ca.Dir, ca.RootCertFile)
	if *caCert != "" {
		caWhere = *caCert
	}
	fmt.Fprintf(stdout, "  CA                %s   (trust domain %s, certificates for %s)\n", caWhere, cp.CA.TrustDomain(), cp.CA.TTL())

	<-ctx.Done()
	fmt.Fprintln(stdout, "wasmesh serve: stopping")
	if err := cp.Close(); err != nil {
		return err
	}
	return cp.Err()
}

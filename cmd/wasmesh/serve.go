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
	storageMiB := fs.Int64("module-storage", 1024, "MiB of uploaded modules kept; beyond, modules no resource references (uploaded over 15 minutes ago) are deleted, then uploads are refused")
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
		ModuleLimits: controlplane.ModuleLimits{Uploads: *uploads, Storage: *storageMiB << 20},
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
	fmt.Fprintf(stdout, "wasmesh serve: data dir %s (store revision %d)\n", cp.DataDir, rev)
	fmt.Fprintf(stdout, "  xDS (ADS, gRPC)   %s\n", cp.XDSAddr)
	fmt.Fprintf(stdout, "  API               http://%s%s   (%s)\n", cp.HTTPAddr, api.Prefix, tokenWhere)
	fmt.Fprintf(stdout, "  modules           http://%s/modules/<sha256>   (%d built-in", cp.HTTPAddr, len(cp.Builtins))
	if *modules != "" {
		fmt.Fprintf(stdout, " from %s: %v", *modules, slices.Sorted(maps.Keys(cp.Builtins)))
	}
	fmt.Fprintln(stdout, ")")

	<-ctx.Done()
	fmt.Fprintln(stdout, "wasmesh serve: stopping")
	if err := cp.Close(); err != nil {
		return err
	}
	return cp.Err()
}

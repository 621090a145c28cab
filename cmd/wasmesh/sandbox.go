package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/wasmesh/wasmesh/sandbox"
)

// runSandbox runs the local demo mesh until Ctrl-C (or --duration), then stops it cleanly.
func runSandbox(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.Int("base-port", sandbox.DefaultBasePort, fmt.Sprintf("first port of the sandbox's block of %d (control plane xDS; frontend inbound is base+10)", sandbox.PortSpan))
	dataDir := fs.String("data-dir", "", "keep the store, bootstraps and sidecar logs here (default: a temporary directory, removed on exit)")
	duration := fs.Duration("duration", 0, "stop after this long (default: run until Ctrl-C)")
	envoy := fs.String("envoy", "", "Envoy binary (default: $ENVOY_BIN, envoy on PATH, or the `make envoy` install)")
	noBuild := fs.Bool("no-build", false, "do not run scripts/build-wasm.sh first (the filters must be built)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh sandbox [flags]\n\n"+
			"Runs the demo mesh on loopback: the control plane, frontend → reviews v1/v2/v3 → ratings, each\n"+
			"with an Envoy sidecar, and the sample resources in sandbox/crds. Ctrl-C stops everything.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sandbox.Run(ctx, sandbox.Options{
		BasePort: *base,
		DataDir:  *dataDir,
		Envoy:    *envoy,
		NoBuild:  *noBuild,
		Out:      stdout,
	}, *duration)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"text/tabwriter"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/sandbox"
)

// runSandbox runs the local demo mesh until Ctrl-C (or --duration), then stops it cleanly;
// `wasmesh sandbox kill|restart|ps` act on a running one.
func runSandbox(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && slices.Contains([]string{"kill", "restart", "ps"}, args[0]) {
		return runSandboxControl(args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("wasmesh sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.Int("base-port", sandbox.DefaultBasePort, fmt.Sprintf("first port of the sandbox's block of %d (control plane xDS; frontend inbound is base+10)", sandbox.PortSpan))
	dataDir := fs.String("data-dir", "", "keep the store, bootstraps and sidecar logs here (default: a temporary directory, removed on exit)")
	duration := fs.Duration("duration", 0, "stop after this long (default: run until Ctrl-C)")
	envoy := fs.String("envoy", "", "Envoy binary (default: $ENVOY_BIN, envoy on PATH, or the `make envoy` install)")
	noBuild := fs.Bool("no-build", false, "do not run scripts/build-wasm.sh first (the filters must be built)")
	prom := fs.String("prometheus", "auto", "run Prometheus scraping every sidecar and let the graph ask it: auto (when prometheus is on PATH), off, or the binary")
	certTTL := fs.Duration("cert-ttl", ca.DefaultTTL, "lifetime of the sidecars' mTLS certificates, rotated at half of it (try 30s to watch rotations in wasmesh status)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh sandbox [flags]\n\n"+
			"Runs the demo mesh on loopback: the control plane, frontend → reviews v1/v2/v3 → ratings, each\n"+
			"with an Envoy sidecar, and the sample resources in sandbox/crds. Ctrl-C stops everything.\n\n"+
			"In another terminal, break things (docs/sandbox.md):\n"+
			"  wasmesh sandbox ps                       every part of the running sandbox and whether it runs\n"+
			"  wasmesh sandbox kill TARGET              kill a sidecar (node id, e.g. reviews.v1.0), a demo app\n"+
			"                                           (reviews.v1.0/app) or the control plane (controlplane)\n"+
			"  wasmesh sandbox restart TARGET           start it again\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	promBin, err := sandbox.FindPrometheus(*prom)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if promBin == "" && *prom == "auto" {
		fmt.Fprintln(stdout, "(no prometheus on PATH: the control plane scrapes the sidecars itself; Debian: apt-get install prometheus)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sandbox.Run(ctx, sandbox.Options{
		BasePort:   *base,
		DataDir:    *dataDir,
		Envoy:      *envoy,
		NoBuild:    *noBuild,
		Out:        stdout,
		Prometheus: promBin,
		CA:         ca.Options{TTL: *certTTL},
	}, *duration)
}

func runSandboxControl(action string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh sandbox "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.Int("base-port", sandbox.DefaultBasePort, "the running sandbox's --base-port")
	usage := "usage: wasmesh sandbox " + action + " TARGET [--base-port N]\n\nTARGET: a node id (its sidecar, e.g. reviews.v1.0), <node id>/app (its demo app) or controlplane.\n\nflags:\n"
	if action == "ps" {
		usage = "usage: wasmesh sandbox ps [--base-port N]\n\nflags:\n"
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if action == "ps" {
		if len(pos) > 0 {
			return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
		}
		parts, err := sandbox.List(ctx, *base)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TARGET\tRUNNING\tPID\tADDRESS")
		for _, p := range parts {
			pid := "-"
			if p.Pid != 0 {
				pid = strconv.Itoa(p.Pid)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Target, yesNo(p.Running), pid, p.Address)
		}
		return tw.Flush()
	}
	if len(pos) != 1 {
		return &exitError{code: 2, err: fmt.Errorf("one TARGET is required (a node id such as reviews.v1.0, <node id>/app, or controlplane)")}
	}
	if err := sandbox.Control(ctx, *base, action, pos[0]); err != nil {
		return err
	}
	past := map[string]string{"kill": "killed", "restart": "restarted"}[action]
	fmt.Fprintf(stdout, "%s %s\n", pos[0], past)
	return nil
}

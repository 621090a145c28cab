// Command wasmesh is the one CLI of the toolkit: build and check filters, replay HTTP exchanges
// through them, run the control plane, apply and inspect resources, and run the sandbox.
//
// This file only wires commands; each lives in its own file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one `wasmesh <name>` subcommand.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// errSilent marks an error whose message the command already printed (e.g. failed replay cases):
// main exits 1 without printing it again.
var errSilent = errors.New("")

// exitError carries a specific exit code (kubectl-like: 1 for errors, 2 for usage).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func commands() map[string]command {
	return map[string]command{
		"build":      {"build filter main packages to .wasm", runBuild},
		"check":      {"tell whether a .wasm loads in stock Envoy 1.40, and why not", runCheck},
		"replay":     {"run HTTP exchanges from YAML through a filter chain (testenv or --envoy)", runReplay},
		"new":        {"scaffold a working filter: wasmesh new filter NAME [-dir DIR]", runNew},
		"serve":      {"run the control plane (xDS, module server, API)", runServe},
		"credential": {"print a sidecar's xDS credential (for its bootstrap)", runCredential},
		"apply":      {"apply resources from a file, a folder or stdin (-f)", runApply},
		"get":        {"list or show resources", runGet},
		"delete":     {"delete resources", runDelete},
		"status":     {"show connected Envoys, their ACKed versions and NACK errors", runStatus},
		"sandbox":    {"run the local demo mesh as processes", runSandbox},
		"install":    {"print the Kubernetes install manifests (--kubernetes)", runInstall},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wasmesh <command> [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nrun `wasmesh help <command>` (or `wasmesh <command> -h`) for a command's flags")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 2 && args[0] == "help" {
		// `wasmesh help CMD` is `wasmesh CMD -h`.
		if _, ok := commands()[args[1]]; ok {
			return run([]string{args[1], "-h"}, stdout, stderr)
		}
		fmt.Fprintf(stderr, "wasmesh help: unknown command %q\n\n", args[1])
		usage(stderr)
		return 2
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wasmesh: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errSilent):
		return 1
	}
	fmt.Fprintf(stderr, "wasmesh %s: %v\n", args[0], err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

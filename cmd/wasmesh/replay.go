package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/replay"
)

// Exit codes of `wasmesh replay` (docs/cli.md).
const (
	replayFailed   = 1 // the cases ran, at least one failed
	replayUsage    = 2 // bad flags or arguments
	replayCannotGo = 3 // the cases could not run: a bad file, a missing module, a chain or Envoy that did not start
)

// errCasesFailed is the error of a replay whose cases ran and failed (already reported).
var errCasesFailed = &exitError{code: replayFailed, err: errSilent}

// runReplay is `wasmesh replay [--envoy] [--logs] [--cost] [--pipeline] CASES.yaml...`: each
// file's cases run, in order, through its filter chain under testenv (simulated clock), or
// through a real stock Envoy with --envoy (replay_envoy.go). One line per case with its
// duration, the differences under each failed one, the plugins' log lines with --logs. Every
// file is read and checked before any runs. Exit 0: every case passed; 1: a case failed; 2:
// usage; 3: the cases could not run.
func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envoy := fs.Bool("envoy", false, "run the cases through a real stock Envoy instead of testenv")
	logs := fs.Bool("logs", false, "under each case, the plugins' log lines (Envoy: its wasm log lines)")
	pipeline := fs.Bool("pipeline", false, "run a chain of built-in filters as the bundle's pipeline (one plugin, root_id chain)")
	cost := fs.Bool("cost", false, "after the results, print each case's crossings between Envoy and the filters: host calls, callbacks, allocations (testenv only)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wasmesh replay [--envoy] [--logs] [--cost] [--pipeline] CASES.yaml...\n\nRuns the HTTP exchanges of each replay file through its filter chain (format: docs/cli.md).\nExit status: 0 every case passed, 1 a case failed, 2 usage error, 3 the cases could not run.")
		fs.PrintDefaults()
	}
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return &exitError{code: replayUsage, err: errors.New("no replay file given (usage: wasmesh replay [--envoy] [--logs] CASES.yaml...)")}
	}
	if *envoy && *cost {
		return &exitError{code: replayUsage, err: errors.New("--cost works under testenv only (Envoy does not count crossings): drop --envoy")}
	}
	parsed := make([]*replay.File, len(files))
	var errs []error
	for i, path := range files {
		f, err := replay.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
		} else if *pipeline {
			p, ok, perr := replay.AsPipeline(f)
			switch {
			case perr != nil:
				errs = append(errs, perr)
			case !ok:
				errs = append(errs, fmt.Errorf("%s: --pipeline: its chain has a filter that is not a built-in one (router, canary, fault, telemetry)", path))
			default:
				f = p
			}
		}
		parsed[i] = f
	}
	if len(errs) > 0 {
		return &exitError{code: replayCannotGo, err: errors.Join(errs...)}
	}
	opts := replay.ReportOptions{Logs: *logs}
	if *envoy {
		return runReplayEnvoy(parsed, opts, stdout, stderr)
	}
	rt, err := newRuntime()
	if err != nil {
		return &exitError{code: replayCannotGo, err: err}
	}
	defer rt.Close(context.Background())
	failed, total := 0, 0
	for _, f := range parsed {
		results, err := replay.Run(rt, f)
		if err != nil {
			return &exitError{code: replayCannotGo, err: err}
		}
		if len(parsed) > 1 {
			fmt.Fprintln(stdout, f.Path)
		}
		failed += replay.ReportWith(stdout, results, opts)
		total += len(results)
		if *cost {
			fmt.Fprintln(stdout)
			replay.ReportCost(stdout, results)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d of %d case(s) failed\n", failed, total)
		return errCasesFailed
	}
	return nil
}

// newRuntime is the testenv Runtime of one replay: wazero's compilation cache in testenv's usual
// directory (in memory only when there is none), so a second replay of a module starts fast.
func newRuntime() (*testenv.Runtime, error) {
	return testenv.NewRuntime(context.Background(), testenv.RuntimeConfig{CacheDir: testenv.DefaultCacheDir()})
}

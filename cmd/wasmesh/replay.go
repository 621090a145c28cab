package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/replay"
)

// runReplay is `wasmesh replay [--envoy] [-logs] CASES.yaml...`: each file's cases run, in
// order, through its filter chain under testenv (simulated clock), or through a real stock
// Envoy with --envoy (replay_envoy.go). One line per case, the differences under each failed
// one; exit 0 only when every case passes. Every file is read and checked before any runs.
func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envoy := fs.Bool("envoy", false, "run the cases through a real stock Envoy instead of testenv")
	logs := fs.Bool("logs", false, "print the plugins' log lines to stderr as they run (testenv only)")
	pipeline := fs.Bool("pipeline", false, "run a chain of built-in filters as the bundle's pipeline (one plugin, root_id chain)")
	cost := fs.Bool("cost", false, "after the results, print each case's crossings between Envoy and the filters: host calls, callbacks, allocations (testenv only)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wasmesh replay [--envoy] [-logs] [--cost] [--pipeline] CASES.yaml...\n\nRuns the HTTP exchanges of each replay file through its filter chain (format: go doc github.com/wasmesh/wasmesh/testenv/replay).")
		fs.PrintDefaults()
	}
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *envoy {
		if *logs {
			return &exitError{code: 2, err: errors.New("-logs works under testenv only: Envoy's log is printed when it fails")}
		}
		if *cost {
			return &exitError{code: 2, err: errors.New("--cost works under testenv only (Envoy does not count crossings): drop --envoy")}
		}
		return runReplayEnvoy(files, stdout, stderr)
	}
	if len(files) == 0 {
		return &exitError{code: 2, err: errors.New("no replay file given (usage: wasmesh replay [--envoy] CASES.yaml...)")}
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
		return errors.Join(errs...)
	}
	var opts []testenv.Option
	if *logs {
		opts = append(opts, testenv.WithLogOutput(stderr))
	}
	failed, total := 0, 0
	for _, f := range parsed {
		results, err := replay.Run(f, opts...)
		if err != nil {
			return err
		}
		if len(parsed) > 1 {
			fmt.Fprintln(stdout, f.Path)
		}
		failed += replay.Report(stdout, results)
		total += len(results)
		if *cost {
			fmt.Fprintln(stdout)
			replay.ReportCost(stdout, results)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d of %d case(s) failed\n", failed, total)
		return errSilent
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/wasmesh/wasmesh/testenv/e2e"
)

// runReplayEnvoy is `wasmesh replay --envoy FILE...`: each replay file runs through a real
// stock Envoy (a generated static config with the file's filters in order, one VM per filter,
// and a fake upstream per cluster), one line per case. Errors name the file.
func runReplayEnvoy(files []string, stdout, stderr io.Writer) error {
	if len(files) == 0 {
		return &exitError{code: 2, err: fmt.Errorf("replay --envoy: no replay file given (usage: wasmesh replay --envoy CASES.yaml...)")}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed := 0
	for _, path := range files {
		f, err := e2e.ReadCaseFile(path)
		if err != nil {
			return err
		}
		results, err := e2e.RunCaseFile(ctx, f, "")
		if err != nil {
			return err
		}
		if len(files) > 1 {
			fmt.Fprintf(stdout, "%s (envoy)\n", path)
		}
		failed += e2e.Report(stdout, results)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "%d case(s) failed in Envoy\n", failed)
		return errSilent
	}
	return nil
}

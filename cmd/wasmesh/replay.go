package main

import (
	"errors"
	"flag"
	"io"
)

// runReplay is a placeholder until the replay command lands; its owner replaces this file,
// keeping the --envoy flag that hands the files to runReplayEnvoy (replay_envoy.go, E1).
func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envoy := fs.Bool("envoy", false, "run the cases through a real stock Envoy instead of testenv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *envoy {
		return runReplayEnvoy(fs.Args(), stdout, stderr)
	}
	return errors.New("the replay command is not built yet")
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// runCredential prints the xDS credential of a sidecar node id, for its bootstrap
// (`go run ./envoy-configs/render -xds-token ...`; docs/envoy.md).
func runCredential(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh credential", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af apiFlags
	af.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh credential <node-id> [flags]\n\nprints the sidecar's xDS credential (its bootstrap sends it to the control plane)\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{code: 2, err: fmt.Errorf("want one node id (<service>.<version>.<n>), got %d arguments", len(pos))}
	}
	client, err := af.client()
	if err != nil {
		return err
	}
	tok, err := client.Credential(context.Background(), pos[0])
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// runDelete deletes resources by kind and name; a Service still referenced is refused.
func runDelete(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh delete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	namespace := fs.String("n", crd.DefaultNamespace, "namespace")
	var af apiFlags
	af.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh delete KIND NAME [NAME...] [flags]\n\n"+
			"A Service that other resources still refer to is not deleted.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return &exitError{code: 2, err: fmt.Errorf("KIND and NAME are required")}
	}
	kind, err := crd.ParseKind(pos[0])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	client, err := af.client()
	if err != nil {
		return err
	}
	for _, name := range pos[1:] {
		resp, err := client.Delete(context.Background(), crd.Key{Kind: kind, Namespace: *namespace, Name: name})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s/%s %s\n", strings.ToLower(string(kind)), name, resp.Result.Action)
	}
	return nil
}

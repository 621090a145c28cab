package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
)

// stdin is what `-f -` reads; tests replace it.
var stdin io.Reader = os.Stdin

// runApply applies resources from files, folders or stdin: everything or nothing.
func runApply(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files stringsFlag
	fs.Var(&files, "f", "file, folder (its *.yaml, *.yml, *.json) or - for stdin; repeatable")
	dryRun := fs.Bool("dry-run", false, "validate everything on the server, store nothing")
	wait := fs.Duration("wait", 0, "after applying, wait up to this long until every Envoy running the changed resources ACKs them (exit 1 on a NACK or timeout)")
	var af apiFlags
	af.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh apply -f FILE|DIR|- [-f ...] [flags]\n\n"+
			"Validates every document (structure, references, the filters' own config parsers, a dry run\n"+
			"of each WasmPlugin) and applies all of them, or none. A WasmPlugin's module.file (relative to\n"+
			"its YAML file) is uploaded first.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q (use -f)", pos)}
	}
	if len(files) == 0 {
		return &exitError{code: 2, err: errors.New("-f FILE|DIR|- is required")}
	}
	docs, err := crd.ReadPaths(stdin, files...)
	if err != nil {
		return reportProblems(stderr, err)
	}
	client, err := af.client()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := uploadModules(ctx, client, docs, stderr); err != nil {
		return reportProblems(stderr, err)
	}
	resp, err := client.Apply(ctx, docs, *dryRun)
	if err != nil {
		return reportProblems(stderr, err)
	}
	suffix := ""
	if resp.DryRun {
		suffix = " (dry run)"
	}
	for _, r := range resp.Results {
		fmt.Fprintf(stdout, "%s/%s %s%s\n", strings.ToLower(string(r.Key.Kind)), r.Key.Name, r.Action, suffix)
	}
	if *wait <= 0 || resp.DryRun {
		return nil
	}
	return waitAcked(ctx, client, resp.Results, resp.Revision, *wait, stdout)
}

// ackPoll is how often --wait polls the status.
const ackPoll = 50 * time.Millisecond

// waitAcked polls the status until the control plane has built every connected node's
// configuration from the applied store revision (or a later one) and every node that runs one
// of the applied resources has ACKed its current generation. A NACK ends the wait with the
// node's error.
func waitAcked(ctx context.Context, client *api.Client, results []store.Result, revision uint64, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := map[crd.Key]int64{}
	for _, r := range results {
		want[r.Key] = r.Generation
	}
	start := time.Now()
	lastPending := -1 // nodes not yet ACKed at the last poll
	for {
		st, err := client.Status(ctx)
		if err != nil && ctx.Err() != nil && lastPending > 0 { // the wait ended mid-poll
			return fmt.Errorf("applied, but %d node(s) have not ACKed after %s (see wasmesh status)", lastPending, timeout)
		}
		if err != nil {
			return fmt.Errorf("applied, but cannot read the status: %w", err)
		}
		nodes, pending := map[string]bool{}, map[string]bool{}
		var nacks, health []string
		for _, n := range st.Nodes {
			// Not yet rebuilt from this apply: it cannot show the applied resources yet. (A
			// node whose configuration cannot be built says so in Error and keeps its old one.)
			if n.Connected && n.Revision < revision && n.Error == "" {
				pending[n.ID] = true
			}
		}
		for _, rs := range st.Resources {
			gen, ok := want[rs.Key]
			if !ok || rs.Generation < gen {
				continue
			}
			for _, n := range rs.Nodes {
				nodes[n.Node] = true
				if n.Health != "" {
					health = append(health, fmt.Sprintf("%s/%s on %s: %s", strings.ToLower(string(rs.Key.Kind)), rs.Key.Name, n.Node, n.Health))
				}
				switch n.State {
				case crd.Acked:
				case crd.NACKed:
					nacks = append(nacks, fmt.Sprintf("%s/%s: %s refused it: %s", strings.ToLower(string(rs.Key.Kind)), rs.Key.Name, n.Node, n.Error))
				default:
					pending[n.Node] = true
				}
			}
		}
		if len(nacks) > 0 {
			return fmt.Errorf("applied, but refused by Envoy:\n  %s", strings.Join(nacks, "\n  "))
		}
		if len(pending) == 0 {
			fmt.Fprintf(stdout, "acked by %d node(s) in %s\n", len(nodes), time.Since(start).Round(time.Millisecond))
			for _, h := range health { // a plugin that crashed or was reloaded on a node
				fmt.Fprintf(stdout, "warning: %s\n", h)
			}
			return nil
		}
		lastPending = len(pending)
		select {
		case <-ctx.Done():
			return fmt.Errorf("applied, but %d node(s) have not ACKed after %s (see wasmesh status)", len(pending), timeout)
		case <-time.After(ackPoll):
		}
	}
}

// reportProblems prints every problem on its own line and returns the command's error.
func reportProblems(stderr io.Writer, err error) error {
	msgs := api.Messages(err)
	var (
		ae *api.Error
		de *crd.DocError
	)
	if len(msgs) <= 1 && !errors.As(err, &ae) && !errors.As(err, &de) {
		return fmt.Errorf("nothing applied: %w", err)
	}
	for _, m := range msgs {
		fmt.Fprintln(stderr, m)
	}
	n := "problem"
	if len(msgs) != 1 {
		n = "problems"
	}
	return fmt.Errorf("nothing applied (%d %s)", len(msgs), n)
}

// uploadModules uploads each WasmPlugin's module.file (relative to its YAML file) and fills
// module.sha256. A file that is not there while sha256 is set (the output of `get -o yaml`,
// applied from elsewhere) leaves the module already uploaded in place, with a note on stderr.
func uploadModules(ctx context.Context, client *api.Client, docs []crd.Document, stderr io.Writer) error {
	var errs []error
	for _, d := range docs {
		p, ok := d.Object.(*crd.WasmPlugin)
		if !ok || p.Spec.Module.File == "" {
			continue
		}
		path := p.Spec.Module.File
		if !filepath.IsAbs(path) && d.Source != crd.StdinSource {
			path = filepath.Join(filepath.Dir(d.Source), path)
		}
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) && p.Spec.Module.SHA256 != "" {
			fmt.Fprintln(stderr, d.Errorf("spec.module.file", "%s is not here; using the module already uploaded (sha256 %.12s…)", p.Spec.Module.File, p.Spec.Module.SHA256))
			continue
		}
		if err != nil {
			errs = append(errs, d.Errorf("spec.module.file", "%w", err))
			continue
		}
		sha, err := client.PutModuleFrom(ctx, f) // streamed, never read whole
		f.Close()
		if err != nil {
			errs = append(errs, d.Errorf("spec.module.file", "upload %s: %w", path, err))
			continue
		}
		if p.Spec.Module.SHA256 != "" && p.Spec.Module.SHA256 != sha {
			errs = append(errs, d.Errorf("spec.module.sha256", "%s has sha256 %s, not %s", path, sha, p.Spec.Module.SHA256))
			continue
		}
		p.Spec.Module.SHA256 = sha
	}
	return errors.Join(errs...)
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/api"
)

// statusTypes are the xDS types shown as columns, in order, with their column titles.
var statusTypes = []struct{ name, title string }{
	{"listeners", "LDS"}, {"routes", "RDS"}, {"clusters", "CDS"}, {"endpoints", "EDS"}, {"extension_configs", "ECDS"},
}

// runStatus shows each Envoy the control plane knows (last ACKed version per xDS type, pending
// pushes, NACK errors) and, per resource, the nodes that run it.
func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "table", "output format: table or json")
	var af apiFlags
	af.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh status [-o table|json] [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected arguments %q", pos)}
	}
	if *output != "table" && *output != "json" {
		return &exitError{code: 2, err: fmt.Errorf("-o %q: use table or json", *output)}
	}
	client, err := af.client()
	if err != nil {
		return err
	}
	st, err := client.Status(context.Background())
	if err != nil {
		return err
	}
	if *output == "json" {
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	printStatus(stdout, st)
	return nil
}

func printStatus(w io.Writer, st *api.StatusResponse) {
	fmt.Fprintf(w, "store revision %d, %d node(s); columns LDS..ECDS show the last ACKed version per xDS type\n\n", st.Revision, len(st.Nodes))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"NODE", "SERVICE", "VERSION", "CONNECTED"}
	for _, t := range statusTypes {
		head = append(head, t.title)
	}
	fmt.Fprintln(tw, strings.Join(append(head, "PENDING"), "\t"))
	var nacks, errs, plugins []string
	for _, n := range st.Nodes {
		row := []string{n.ID, orDash(n.Service), orDash(n.Version), yesNo(n.Connected)}
		byType := map[string]api.TypeStatus{}
		var pending []string
		for _, t := range n.Types {
			byType[t.Type] = t
			if t.Pending {
				pending = append(pending, t.Type+"@"+shortVersion(t.Sent))
			}
			if t.NACK != "" {
				nacks = append(nacks, fmt.Sprintf("%s %s version %s: %s", n.ID, t.Type, orDash(t.NACKVersion), t.NACK))
			}
		}
		if n.Error != "" {
			errs = append(errs, n.ID+": "+n.Error)
		}
		for _, p := range n.Plugins {
			plugins = append(plugins, fmt.Sprintf("%s %s: %s", n.ID, p.Plugin, p.Summary))
		}
		for _, t := range statusTypes {
			cell := orDash(shortVersion(byType[t.name].Acked))
			if byType[t.name].NACK != "" {
				cell += "!"
			}
			row = append(row, cell)
		}
		row = append(row, orDash(strings.Join(pending, ",")))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	_ = tw.Flush()
	printIdentities(w, st.Nodes)
	if len(nacks) > 0 {
		fmt.Fprintln(w, "\nNACKs (! above: the node refused a version and runs its last ACKed one):")
		for _, n := range nacks {
			fmt.Fprintln(w, "  "+n)
		}
	}
	if len(plugins) > 0 {
		fmt.Fprintln(w, "\nPlugin health (from each sidecar's own stats):")
		for _, p := range plugins {
			fmt.Fprintln(w, "  "+p)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "\nErrors (the control plane cannot build these nodes' configuration; they keep their last one):")
		for _, e := range errs {
			fmt.Fprintln(w, "  "+e)
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tGEN\tNODES")
	for _, r := range st.Resources {
		var ns []string
		for _, n := range r.Nodes {
			s := n.Node + " (" + string(n.State)
			if n.Error != "" {
				s += ": " + n.Error
			}
			ns = append(ns, s+")")
		}
		fmt.Fprintf(tw, "%s/%s\t%d\t%s\n", strings.ToLower(string(r.Key.Kind)), r.Key.Name, r.Generation, orDash(strings.Join(ns, ", ")))
	}
	_ = tw.Flush()
	printServiceHealth(w, st)
}

// printIdentities prints each node's workload identity (the SPIFFE ID of the certificate the
// control plane serves it over SDS), when the certificate expires and is rotated, and the
// transport mode of its inbound listener; nothing when no node has either.
func printIdentities(w io.Writer, nodes []api.SidecarStatus) {
	shown := false
	for _, n := range nodes {
		shown = shown || n.Identity != "" || n.InboundMode != ""
	}
	if !shown {
		return
	}
	fmt.Fprintln(w, "\nIdentity (mTLS certificates issued by the control plane's CA, served over SDS):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tIDENTITY\tCERT EXPIRES\tROTATES\tINBOUND")
	for _, n := range nodes {
		exp, rot := "-", "-"
		if n.CertExpiry != nil {
			exp = n.CertExpiry.UTC().Format(time.RFC3339)
		}
		if n.CertRotate != nil {
			rot = n.CertRotate.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.ID, orDash(n.Identity), exp, rot, orDash(n.InboundMode))
	}
	_ = tw.Flush()
}

// printServiceHealth prints, per Service, the endpoints callers have ejected and the
// circuit-breaker overflows, as the sidecars' admin reports them.
func printServiceHealth(w io.Writer, st *api.StatusResponse) {
	fmt.Fprintln(w, "\nfrom the sidecars' Envoy admin (callers' view of each Service):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tEJECTED ENDPOINTS\tCIRCUIT-BREAKER OVERFLOWS")
	for _, h := range st.Services {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", h.Service, ejectedCell(h), overflowCell(h))
	}
	if len(st.Services) == 0 {
		fmt.Fprintln(tw, "-\t-\t-")
	}
	_ = tw.Flush()
	for _, e := range st.StatsErrors {
		fmt.Fprintln(w, "  not read: "+e)
	}
}

// ejectedCell is "v1 127.0.0.1:15101 (outlier, by frontend.v1.0)", comma-separated, or "-".
func ejectedCell(h api.ServiceHealth) string {
	var out []string
	for _, e := range h.Ejected {
		out = append(out, fmt.Sprintf("%s %s (%s, by %s)", e.Version, e.Address, e.Reason, e.Caller))
	}
	return orDash(strings.Join(out, ", "))
}

// overflowCell is "12 (v1: 12)" or "0".
func overflowCell(h api.ServiceHealth) string {
	var total int64
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(h.Overflows)) {
		total += h.Overflows[v]
		parts = append(parts, fmt.Sprintf("%s: %d", v, h.Overflows[v]))
	}
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

// shortVersion shortens the xDS server's content versions (16 hex digits, `+retry<n>` when a
// rejected version is pushed again) to 8 digits for the table; -o json has them whole.
func shortVersion(v string) string {
	base, retry, ok := strings.Cut(v, "+")
	if len(base) > 8 {
		base = base[:8]
	}
	if ok {
		return base + "+" + retry
	}
	return base
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

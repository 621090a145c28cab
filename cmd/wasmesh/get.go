package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// runGet lists the resources of a kind, or shows one, as a table, YAML or JSON.
func runGet(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wasmesh get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "table", "output format: table, yaml or json")
	namespace := fs.String("n", crd.DefaultNamespace, "namespace")
	all := fs.Bool("A", false, "every namespace")
	var af apiFlags
	af.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wasmesh get KIND [NAME...] [-o table|yaml|json] [flags]\n\n"+
			"KIND: service (svc), trafficroute (tr), faultinjection (fi), telemetry (tel), wasmplugin (wp).\n"+
			"YAML output can be applied again.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return &exitError{code: 2, err: fmt.Errorf("KIND is required (one of service, trafficroute, faultinjection, telemetry, wasmplugin)")}
	}
	if !slices.Contains([]string{"table", "yaml", "json"}, *output) {
		return &exitError{code: 2, err: fmt.Errorf("-o %q: use table, yaml or json", *output)}
	}
	kind, err := crd.ParseKind(pos[0])
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	client, err := af.client()
	if err != nil {
		return err
	}
	ctx := context.Background()
	var objs []crd.Object
	if len(pos) == 1 {
		ns := *namespace
		if *all {
			ns = "*"
		}
		if objs, err = client.List(ctx, kind, ns); err != nil {
			return err
		}
	} else {
		for _, name := range pos[1:] {
			o, err := client.Get(ctx, crd.Key{Kind: kind, Namespace: *namespace, Name: name})
			if err != nil {
				return err
			}
			objs = append(objs, o)
		}
	}
	if err := printObjects(stdout, stderr, kind, objs, *output, len(pos) == 2); err != nil {
		return err
	}
	if kind == crd.KindService && *output == "table" && len(objs) > 0 {
		// What the callers' sidecars report about these Services (as in wasmesh status).
		st, err := client.Status(ctx)
		if err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, o := range objs {
			listed[o.Meta().Name] = true
		}
		st.Services = slices.DeleteFunc(st.Services, func(h api.ServiceHealth) bool { return !listed[h.Service] })
		if len(st.Services) > 0 || len(st.StatsErrors) > 0 {
			printServiceHealth(stdout, st)
		}
	}
	return nil
}

func printObjects(stdout, stderr io.Writer, kind crd.Kind, objs []crd.Object, output string, single bool) error {
	switch output {
	case "json":
		var v any = objs
		if single {
			v = objs[0]
		} else {
			v = map[string]any{"items": objs}
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	case "yaml":
		for i, o := range objs {
			b, err := yaml.Marshal(o)
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(stdout, "---")
			}
			if _, err := stdout.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	if len(objs) == 0 {
		fmt.Fprintf(stderr, "no %s resources\n", kind)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(append(columns(kind), "GEN", "NODES"), "\t"))
	for _, o := range objs {
		row := append(cells(o), strconv.FormatInt(o.Meta().Generation, 10), nodesCell(o.GetStatus().Nodes))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func columns(kind crd.Kind) []string {
	switch kind {
	case crd.KindService:
		return []string{"NAME", "PORT", "VERSIONS", "DEFAULT"}
	case crd.KindTrafficRoute:
		return []string{"NAME", "SERVICE", "RULES", "SPLIT", "TIMEOUT"}
	case crd.KindFaultInjection:
		return []string{"NAME", "SERVICE", "RULES", "TRIGGER"}
	case crd.KindTelemetry:
		return []string{"NAME", "SERVICES", "METRICS", "ACCESSLOG", "TRACING"}
	case crd.KindTransportPolicy:
		return []string{"NAME", "SERVICES", "MODE"}
	case crd.KindAuthorizationPolicy:
		return []string{"NAME", "SERVICES", "ACTION", "RULES", "CALLERS"}
	}
	return []string{"NAME", "MODULE", "PHASE", "PRIORITY", "SERVICES"}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func services(s []string) string {
	if len(s) == 0 {
		return "*"
	}
	return strings.Join(s, ",")
}

func cells(o crd.Object) []string {
	name := o.Meta().Name
	switch o := o.(type) {
	case *crd.Service:
		var vs []string
		for _, v := range o.Spec.Versions {
			vs = append(vs, fmt.Sprintf("%s(%d)", v.Name, len(v.Endpoints)))
		}
		return []string{name, strconv.Itoa(int(o.Spec.Port)), strings.Join(vs, ","), o.EffectiveDefaultVersion()}
	case *crd.TrafficRoute:
		split := "-"
		if sp := o.Spec.Split; sp != nil {
			var ws []string
			for _, k := range slices.Sorted(maps.Keys(sp.Weights)) {
				ws = append(ws, fmt.Sprintf("%s=%d", k, sp.Weights[k]))
			}
			split = strings.Join(ws, ",")
		}
		timeout := "-"
		if o.Spec.Timeout != nil {
			timeout = o.Spec.Timeout.String()
		}
		return []string{name, o.Spec.Service, strconv.Itoa(len(o.Spec.Rules)), split, timeout}
	case *crd.FaultInjection:
		trigger, on := o.Spec.Trigger()
		if !on {
			trigger = "off"
		}
		return []string{name, o.Spec.Service, strconv.Itoa(len(o.Spec.Rules)), trigger}
	case *crd.Telemetry:
		s := o.Spec
		tracing := "off"
		if s.Tracing.Propagates() {
			tracing = "propagate"
			if s.Tracing != nil && s.Tracing.StartWhenAbsent {
				tracing = "propagate+start"
			}
		}
		access := onOff(s.AccessLog.IsEnabled())
		if s.AccessLog.IsEnabled() {
			access = fmt.Sprintf("%g%%", s.AccessLog.SamplingPercent())
		}
		return []string{name, services(s.Services), onOff(s.Metrics.IsEnabled()), access, tracing}
	case *crd.TransportPolicy:
		return []string{name, services(o.Spec.Services), o.Spec.Mode}
	case *crd.AuthorizationPolicy:
		var callers []string
		for _, r := range o.Spec.Rules {
			for _, c := range r.From {
				switch {
				case c.SPIFFEID != "":
					callers = append(callers, c.SPIFFEID)
				case c.Service != "" && c.Namespace != "":
					callers = append(callers, c.Namespace+"/"+c.Service)
				case c.Service != "":
					callers = append(callers, c.Service)
				default:
					callers = append(callers, c.Namespace+"/*")
				}
			}
		}
		return []string{name, services(o.Spec.Services), o.Spec.Action, strconv.Itoa(len(o.Spec.Rules)), orDash(strings.Join(slices.Compact(callers), ","))}
	case *crd.WasmPlugin:
		mod := o.Spec.Module.SHA256
		if len(mod) > 12 {
			mod = mod[:12]
		}
		return []string{name, orDash(mod), o.Spec.EffectivePhase(), strconv.Itoa(int(o.Spec.Priority)), services(o.Spec.Selector.Services)}
	}
	return []string{name}
}

// nodesCell summarises which nodes run a resource: "2/3 acked, 1 nacked".
func nodesCell(nodes []crd.NodeStatus) string {
	if len(nodes) == 0 {
		return "-"
	}
	counts := map[crd.AckState]int{}
	for _, n := range nodes {
		counts[n.State]++
	}
	parts := []string{fmt.Sprintf("%d/%d %s", counts[crd.Acked], len(nodes), crd.Acked)}
	for _, st := range []crd.AckState{crd.Pending, crd.NACKed} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	return strings.Join(parts, ", ")
}

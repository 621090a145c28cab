// Package ir is the control plane's intermediate representation between the stored resources
// and Envoy's configuration (resources → IR → xDS): per Service, the policy each built-in
// filter runs, in the filter's own exported type, each piece with the resource and field it
// was built from. The translator (controlplane/translate) emits the filters' configuration
// from it, and admission runs each filter's own parser on it (Check), so a problem is
// reported on the field that caused it by structure, never by reading error text.
package ir

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/filters/authz"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
)

// Origin is where a piece of policy came from: a resource and the field path in it whose
// shape the piece has (a filter's problem at `rules[0].match` is the resource's problem at
// `<Path>.rules[0].match`).
type Origin struct {
	Key  crd.Key
	Path string
}

// Policy is one filter's policy for one Service. From is nil for the default the control plane
// writes for a Service no resource configures.
type Policy[T any] struct {
	Value T
	From  *Origin
}

// Service is everything the built-in filters run for one Service.
type Service struct {
	Name      string
	Router    Policy[router.Policy]
	Canary    Policy[canary.Policy]
	Fault     Policy[fault.Policy]
	Telemetry Policy[telemetry.Policy]
	// Authz holds the AuthorizationPolicies selecting the Service, in the order the filter
	// evaluates them (each its own origin).
	Authz []Policy[authz.PolicySpec]
}

// Mesh is the IR of a set of resources: its Services by name.
type Mesh struct {
	Services map[string]*Service
}

// Options are what the IR needs besides the resources.
type Options struct {
	// TrustDomain of the SPIFFE IDs callers are named by (ca.DefaultTrustDomain when empty).
	TrustDomain string
}

// Build turns the resources into the IR. Every Service has an entry for every filter; a
// Service without a FaultInjection says its trigger header is off (whatever the filter's own
// default). It fails only on input validation refuses (a Service name used in two namespaces).
func Build(set *crd.Set, opts Options) (*Mesh, error) {
	if err := crd.UniqueServiceNames(set); err != nil {
		return nil, err
	}
	m := &Mesh{Services: make(map[string]*Service, len(set.Services))}
	off := false
	for _, s := range set.Services {
		name := s.Metadata.Name
		m.Services[name] = &Service{Name: name, Fault: Policy[fault.Policy]{Value: fault.Policy{TriggerHeader: &fault.TriggerHeader{Enabled: &off}}}}
	}
	// A resource naming a Service that is not there (refused by References) configures nothing.
	at := func(svc string) *Service {
		if s, ok := m.Services[svc]; ok {
			return s
		}
		return &Service{}
	}
	for _, r := range set.TrafficRoutes {
		key := crd.KeyOf(r)
		if len(r.Spec.Rules) > 0 {
			at(r.Spec.Service).Router = Policy[router.Policy]{Value: r.Spec.RouterPolicy(), From: &Origin{Key: key, Path: "spec"}}
		}
		if sp := r.Spec.Split; sp != nil {
			at(r.Spec.Service).Canary = Policy[canary.Policy]{Value: *sp, From: &Origin{Key: key, Path: "spec.split"}}
		}
	}
	for _, f := range set.FaultInjections {
		at(f.Spec.Service).Fault = Policy[fault.Policy]{Value: f.Spec.FaultPolicy(), From: &Origin{Key: crd.KeyOf(f), Path: "spec"}}
	}
	// A Telemetry for every Service first, then the ones naming Services win.
	for _, every := range []bool{true, false} {
		for _, t := range set.Telemetries {
			if (len(t.Spec.Services) == 0) != every {
				continue
			}
			p := Policy[telemetry.Policy]{Value: t.Spec.TelemetryPolicy(), From: &Origin{Key: crd.KeyOf(t), Path: "spec"}}
			targets := t.Spec.Services
			if every {
				targets = slices.Collect(maps.Keys(m.Services))
			}
			for _, svc := range targets {
				at(svc).Telemetry = p
			}
		}
	}
	td := opts.TrustDomain
	if td == "" {
		td = ca.DefaultTrustDomain
	}
	for _, a := range set.AuthorizationPolicies {
		p := Policy[authz.PolicySpec]{Value: authzPolicy(a, td), From: &Origin{Key: crd.KeyOf(a), Path: "spec"}}
		for _, svc := range PolicyTargets(set, a) {
			s := at(svc)
			s.Authz = append(s.Authz, p)
		}
	}
	return m, nil
}

// authzPolicy is the authz filter's form of an AuthorizationPolicy: callers resolved to SPIFFE
// IDs (a Service: exact; a namespace: the prefix of its IDs).
func authzPolicy(a *crd.AuthorizationPolicy, td string) authz.PolicySpec {
	key := crd.KeyOf(a)
	p := authz.PolicySpec{Name: key.Namespace + "/" + key.Name, Action: a.Spec.Action}
	for _, r := range a.Spec.Rules {
		var rule authz.Rule
		if r.Match != nil {
			rule.Match = *r.Match
		}
		for _, c := range r.From {
			switch {
			case c.SPIFFEID != "":
				rule.Principals = append(rule.Principals, authz.Principal{Exact: c.SPIFFEID})
			case c.Service != "":
				ns := cmp.Or(c.Namespace, key.Namespace)
				rule.Principals = append(rule.Principals, authz.Principal{Exact: ca.SPIFFEID(td, ns, c.Service)})
			default:
				rule.Principals = append(rule.Principals, authz.Principal{Prefix: ca.SPIFFEID(td, c.Namespace, "")})
			}
		}
		p.Rules = append(p.Rules, rule)
	}
	return p
}

// PolicyTargets are the Services an AuthorizationPolicy selects: its spec.services, or every
// Service of its namespace.
func PolicyTargets(set *crd.Set, a *crd.AuthorizationPolicy) []string {
	if len(a.Spec.Services) > 0 {
		return a.Spec.Services
	}
	var out []string
	ns := crd.KeyOf(a).Namespace
	for _, s := range set.Services {
		if crd.KeyOf(s).Namespace == ns {
			out = append(out, s.Metadata.Name)
		}
	}
	return out
}

// The built-in filters, in chain order (docs/conventions.md), and the authz filter.
const (
	FilterTelemetry = "telemetry"
	FilterFault     = "fault"
	FilterRouter    = "router"
	FilterCanary    = "canary"
	FilterAuthz     = "authz"
)

// FilterConfigs returns the JSON configuration of each built-in filter of the chain (keyed by
// filter name), in the filters' own Config types: the per-service map with an entry for every
// Service. The output is deterministic (encoding/json sorts map keys).
func (m *Mesh) FilterConfigs() (map[string][]byte, error) {
	rc := router.Config{Services: map[string]router.Policy{}}
	cc := canary.Config{Services: map[string]canary.Policy{}}
	fc := fault.Config{Services: map[string]fault.Policy{}}
	tc := telemetry.Config{Services: map[string]telemetry.Policy{}}
	for name, s := range m.Services {
		rc.Services[name] = s.Router.Value
		cc.Services[name] = s.Canary.Value
		fc.Services[name] = s.Fault.Value
		tc.Services[name] = s.Telemetry.Value
	}
	out := map[string][]byte{}
	for name, cfg := range map[string]any{FilterRouter: rc, FilterCanary: cc, FilterFault: fc, FilterTelemetry: tc} {
		b, err := json.Marshal(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s filter config: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// AuthzConfig returns the authz filter's JSON configuration: every Service with the policies
// selecting it (`{}` for a Service none selects: all allowed).
func (m *Mesh) AuthzConfig() ([]byte, error) {
	cfg := authz.Config{Services: map[string]authz.Policy{}}
	for name, s := range m.Services {
		var p authz.Policy
		for _, a := range s.Authz {
			p.Policies = append(p.Policies, a.Value)
		}
		cfg.Services[name] = p
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("authz filter config: %w", err)
	}
	return b, nil
}

package crd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wasmesh/wasmesh/internal/yamlstrict"
)

// ObjectError is a problem of one resource that is not tied to a document (a stored resource,
// or a finding of a Checker before it is attributed): `TrafficRoute "reviews": spec....`.
type ObjectError struct {
	Key Key
	Err error
	// Ref, when set, is the resource whose content makes this one invalid (the Service that
	// lacks a version); an apply that changed Ref is blamed for the problem.
	Ref *Key
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("%s %q: %v", e.Key.Kind, e.Key.Name, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// Checker is a validation stage beyond structure and references (controlplane/admission runs
// them), run on the set the store would hold after an apply (stored resources overlaid by the
// applied ones): the built-in filters' config parsers on the config generated for them, a
// WasmPlugin's dry run.
//
// Check reports problems as *ObjectError values (joined), each wrapping a *FieldError when a
// field path is known; changed lists the keys whose spec the apply creates or modifies, so that
// costly checks can skip what was checked before.
type Checker interface {
	Check(ctx context.Context, set *Set, changed []Key) error
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func(ctx context.Context, set *Set, changed []Key) error

// Check implements Checker.
func (f CheckerFunc) Check(ctx context.Context, set *Set, changed []Key) error {
	return f(ctx, set, changed)
}

// Merge returns the stored set overlaid by the documents' resources.
func Merge(stored *Set, docs []Document) *Set {
	objs := stored.Objects()
	for _, d := range docs {
		objs = append(objs, d.Object)
	}
	return NewSet(objs...)
}

// Leaves lists the leaves of a tree of errors.Join values.
func Leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking the join
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// References checks every cross-resource reference of the set: a TrafficRoute's, a
// FaultInjection's, a Telemetry's and a WasmPlugin's Services exist (same namespace), the
// versions a TrafficRoute names are defined on its Service, and a Service has at most one
// TrafficRoute, one FaultInjection and one Telemetry naming it (when two claim one Service, a
// resource listed in applied is the one reported), and Service names are unique mesh-wide
// (UniqueServiceNames). Problems are *ObjectError values wrapping
// *FieldError values, joined.
func References(s *Set, applied ...Key) error {
	var errs []error
	failRef := func(o Object, ref *Key, path, format string, args ...any) {
		errs = append(errs, &ObjectError{Key: KeyOf(o), Ref: ref, Err: &FieldError{Path: path, Err: fmt.Errorf(format, args...)}})
	}
	service := func(o Object, path, name string) *Service {
		svc := s.Service(o.Meta().Namespace, name)
		if svc == nil {
			ref := Key{Kind: KindService, Namespace: KeyOf(o).Namespace, Name: name}
			failRef(o, &ref, path, "Service %q does not exist", name)
		}
		return svc
	}
	version := func(o Object, path string, svc *Service, v string) {
		if svc != nil && !slices.Contains(svc.VersionNames(), v) {
			ref := KeyOf(svc)
			failRef(o, &ref, path, "version %q is not defined on Service %q", v, svc.Metadata.Name)
		}
	}
	type claimT struct {
		o          Object
		path, name string
	}
	var claims []claimT
	claim := func(o Object, path, svcName string) { claims = append(claims, claimT{o, path, svcName}) }

	for _, r := range s.TrafficRoutes {
		svc := service(r, "spec.service", r.Spec.Service)
		claim(r, "spec.service", r.Spec.Service)
		for i, rule := range r.Spec.Rules {
			if rule.Destination != nil {
				version(r, fmt.Sprintf("spec.rules[%d].destination.version", i), svc, rule.Destination.Version)
			}
		}
		if sp := r.Spec.Split; sp != nil {
			for v := range sortedKeys(sp.Weights) {
				version(r, yamlstrict.JoinKey("spec.split.weights", v), svc, v)
			}
			for i, o := range sp.Overrides {
				version(r, fmt.Sprintf("spec.split.overrides[%d].version", i), svc, o.Version)
			}
		}
		if m := r.Spec.Mirror; m != nil && m.Version != "" {
			version(r, "spec.mirror.version", svc, m.Version)
		}
	}
	for _, f := range s.FaultInjections {
		service(f, "spec.service", f.Spec.Service)
		claim(f, "spec.service", f.Spec.Service)
	}
	for _, t := range s.Telemetries {
		if len(t.Spec.Services) == 0 {
			claim(t, "spec.services", "*")
		}
		for i, name := range t.Spec.Services {
			p := fmt.Sprintf("spec.services[%d]", i)
			service(t, p, name)
			claim(t, p, name)
		}
	}
	for _, w := range s.WasmPlugins {
		for i, name := range w.Spec.Selector.Services {
			service(w, fmt.Sprintf("spec.selector.services[%d]", i), name)
		}
	}
	for _, t := range s.TransportPolicies {
		if len(t.Spec.Services) == 0 {
			claim(t, "spec.services", "*") // mesh-wide: one for every namespace (see owner below)
		}
		for i, name := range t.Spec.Services {
			p := fmt.Sprintf("spec.services[%d]", i)
			service(t, p, name)
			claim(t, p, name)
		}
	}
	for _, a := range s.AuthorizationPolicies {
		for i, name := range a.Spec.Services {
			service(a, fmt.Sprintf("spec.services[%d]", i), name)
		}
	}
	// Stored resources claim their Service first, so a conflicting applied one is reported.
	slices.SortStableFunc(claims, func(a, b claimT) int { return appliedLast(applied, a.o, b.o) })
	owner := map[string]Object{} // "<kind>/<namespace>/<service>" → resource that claims it
	for _, c := range claims {
		k := KeyOf(c.o)
		ns := k.Namespace
		if k.Kind == KindTransportPolicy && c.name == "*" {
			ns = "" // the mesh-wide default is one for the whole mesh
		}
		ck := string(k.Kind) + "/" + ns + "/" + c.name
		if prev, ok := owner[ck]; ok {
			if c.name == "*" {
				failRef(c.o, nil, c.path, "%s %q already applies to every Service", k.Kind, prev.Meta().Name)
			} else {
				failRef(c.o, nil, c.path, "Service %q already has %s %q", c.name, k.Kind, prev.Meta().Name)
			}
			continue
		}
		owner[ck] = c.o
	}
	if err := UniqueServiceNames(s, applied...); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// appliedLast orders stored resources before the ones listed in applied (a sort comparator),
// so that of two in conflict the applied one is reported.
func appliedLast(applied []Key, a, b Object) int {
	ia, ib := slices.Contains(applied, KeyOf(a)), slices.Contains(applied, KeyOf(b))
	switch {
	case ia == ib:
		return 0
	case ib:
		return -1
	}
	return 1
}

// UniqueServiceNames refuses two Services with one name in different namespaces: the
// routing header, the Envoy clusters (`<service>|<version>`) and the metric labels carry the
// name alone, so service names are mesh-wide. Of two, a stored one keeps the name and the
// one listed in applied is reported. Problems are *ObjectError values, joined.
func UniqueServiceNames(s *Set, applied ...Key) error {
	svcs := slices.Clone(s.Services)
	slices.SortStableFunc(svcs, func(a, b *Service) int { return appliedLast(applied, a, b) })
	seen := map[string]*Service{}
	var errs []error
	for _, svc := range svcs {
		if prev, ok := seen[svc.Metadata.Name]; ok {
			errs = append(errs, &ObjectError{Key: KeyOf(svc), Err: &FieldError{
				Path: "metadata.name",
				Err: fmt.Errorf("a Service named %q already exists in namespace %q (service names are mesh-wide)",
					svc.Metadata.Name, KeyOf(prev).Namespace),
			}})
			continue
		}
		seen[svc.Metadata.Name] = svc
	}
	return errors.Join(errs...)
}

// ErrInUse is returned when deleting a Service other resources still refer to.
var ErrInUse = errors.New("still referenced")

// CheckDelete refuses to delete a Service that other resources of the set refer to, naming
// them.
func CheckDelete(s *Set, key Key) error {
	if key.Kind != KindService {
		return nil
	}
	var users []string
	for _, o := range s.Objects() {
		if KeyOf(o).Namespace != key.Namespace {
			continue
		}
		if slices.Contains(ServicesOf(o), key.Name) {
			users = append(users, fmt.Sprintf("%s %q", o.GetKind(), o.Meta().Name))
		}
	}
	if len(users) > 0 {
		return fmt.Errorf("Service %q is %w by %s; delete or change them first", key.Name, ErrInUse, strings.Join(users, ", ")) //nolint:staticcheck // the kind is capitalised
	}
	return nil
}

// ServicesOf returns the names of the Services a resource refers to (a Service refers to
// none; a Telemetry or WasmPlugin for every Service returns nil).
func ServicesOf(o Object) []string {
	switch o := o.(type) {
	case *TrafficRoute:
		return []string{o.Spec.Service}
	case *FaultInjection:
		return []string{o.Spec.Service}
	case *Telemetry:
		return o.Spec.Services
	case *WasmPlugin:
		return o.Spec.Selector.Services
	case *TransportPolicy:
		return o.Spec.Services
	case *AuthorizationPolicy:
		return o.Spec.Services
	}
	return nil
}

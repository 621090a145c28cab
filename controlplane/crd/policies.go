package crd

import (
	"encoding/json"
	"errors"

	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
	"github.com/wasmesh/wasmesh/sdk/config"
)

// The resources embed the built-in filters' own schema (sdk/match, router, canary types), and
// the functions below turn a spec into the policy its filter takes, every value the control
// plane knows resolved. There is one conversion per filter: the IR (controlplane/ir) builds
// the mesh from them, and Validate runs each filter's own parser on them, so a resource is
// checked by the validator that later runs in Envoy (docs/architecture.md).

// RouterPolicy is the router filter's policy for the route's rules.
func (s *TrafficRouteSpec) RouterPolicy() router.Policy {
	var p router.Policy
	for _, r := range s.Rules {
		rule := router.Rule{Name: r.Name, Match: r.Match, RequestHeaders: r.RequestHeaders, Rewrite: r.Rewrite}
		if r.Destination != nil {
			rule.Destination = &router.Destination{Version: r.Destination.Version}
		}
		p.Rules = append(p.Rules, rule)
	}
	return p
}

// FaultPolicy is the fault filter's policy for the resource. The trigger header's name,
// callers and cap are written only when it is enabled: a disabled trigger is just
// `{"enabled": false}`.
func (s *FaultInjectionSpec) FaultPolicy() fault.Policy { return s.faultPolicy(false) }

// faultPolicy is FaultPolicy; asWritten keeps every trigger-header field given, for
// validation.
func (s *FaultInjectionSpec) faultPolicy(asWritten bool) fault.Policy {
	name, enabled := s.Trigger()
	p := fault.Policy{TriggerHeader: &fault.TriggerHeader{Enabled: &enabled}, MaxActiveDelays: int(s.MaxActiveDelays)}
	if t := s.TriggerHeader; t != nil && (enabled || asWritten) {
		p.TriggerHeader.Name = name
		p.TriggerHeader.Callers = t.Callers
		if t.MaxDelay != nil {
			p.TriggerHeader.MaxDelay = t.MaxDelay.Duration.String()
		}
	}
	for _, r := range s.Rules {
		rule := fault.Rule{Name: r.Name, Match: r.Match}
		if d := r.Delay; d != nil {
			rule.Delay = &fault.Delay{Fixed: d.Fixed.Duration.String(), Percentage: d.Percentage}
		}
		if a := r.Abort; a != nil {
			rule.Abort = &fault.Abort{HTTPStatus: int(a.HTTPStatus), Percentage: a.Percentage}
			if a.GRPCStatus != nil {
				g := int(*a.GRPCStatus)
				rule.Abort.GRPCStatus = &g
			}
		}
		p.Rules = append(p.Rules, rule)
	}
	return p
}

// TelemetryPolicy is the telemetry filter's policy for the resource, every default resolved
// (the filter's own defaults differ: its startWhenAbsent defaults to true, the resource's to
// false).
func (s *TelemetrySpec) TelemetryPolicy() telemetry.Policy {
	var p telemetry.Policy
	if m := s.Metrics; m != nil {
		on := m.IsEnabled()
		p.Metrics = &telemetry.Metrics{Enabled: &on, Dimensions: m.Dimensions}
	}
	if a := s.AccessLog; a != nil {
		on, pct := a.IsEnabled(), a.SamplingPercent()
		p.AccessLog = &telemetry.AccessLog{Enabled: &on, Sampling: &pct, Fields: a.Fields}
	}
	if t := s.Tracing; t != nil {
		propagate, start := t.Propagates(), t.StartWhenAbsent
		p.Tracing = &telemetry.Tracing{Propagate: &propagate, StartWhenAbsent: &start}
	}
	return p
}

// FilterProblems runs a filter's own parser on value (as JSON) and returns its problems as
// field errors under path: where a resource embeds a filter's schema at path, the filter's
// parser is its validator, and an error is attributed by structure (config.PathError), never
// by its text.
func FilterProblems[C any](path string, value any, parse func([]byte) (C, error)) []*FieldError {
	b, err := json.Marshal(value)
	if err != nil {
		return []*FieldError{{Path: path, Err: err}}
	}
	_, err = parse(b)
	if err == nil {
		return nil
	}
	var out []*FieldError
	for _, e := range Leaves(config.Prefix(path, err)) {
		var pe *config.PathError
		if errors.As(e, &pe) {
			out = append(out, &FieldError{Path: pe.Path, Err: pe.Err})
			continue
		}
		out = append(out, &FieldError{Path: path, Err: e})
	}
	return out
}

package translate

import (
	"encoding/json"
	"fmt"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// The built-in filters, in chain order (docs/conventions.md).
const (
	FilterTelemetry = "telemetry"
	FilterFault     = "fault"
	FilterRouter    = "router"
	FilterCanary    = "canary"
	// FilterChain is the pipeline running the four in one filter (the default).
	FilterChain = "chain"
)

// Filters returns the built-in filters in chain order.
func Filters() []string {
	return []string{FilterTelemetry, FilterFault, FilterRouter, FilterCanary}
}

// The policy types below are the JSON each built-in filter takes (docs/filters.md). The
// control plane writes every value it knows, defaults resolved, so what a filter runs never
// depends on its own defaults drifting.

type routerPolicy struct {
	Rules          []crd.RouteRule `json:"rules,omitempty"`
	DefaultVersion string          `json:"defaultVersion,omitempty"`
}

type canaryPolicy struct {
	Weights        map[string]uint32   `json:"weights"`
	Overrides      []crd.SplitOverride `json:"overrides,omitempty"`
	Sticky         *crd.Sticky         `json:"sticky,omitempty"`
	ResponseHeader string              `json:"responseHeader,omitempty"`
}

type faultPolicy struct {
	Rules           []crd.FaultRule `json:"rules,omitempty"`
	TriggerHeader   *triggerHeader  `json:"triggerHeader,omitempty"`
	MaxActiveDelays uint32          `json:"maxActiveDelays,omitempty"`
}

type triggerHeader struct {
	Enabled  bool     `json:"enabled"`
	Name     string   `json:"name,omitempty"`
	Callers  []string `json:"callers,omitempty"`
	MaxDelay string   `json:"maxDelay,omitempty"`
}

type telemetryPolicy struct {
	Metrics   *metricsPolicy   `json:"metrics,omitempty"`
	AccessLog *accessLogPolicy `json:"accessLog,omitempty"`
	Tracing   *tracingPolicy   `json:"tracing,omitempty"`
}

type metricsPolicy struct {
	Enabled    bool     `json:"enabled"`
	Dimensions []string `json:"dimensions,omitempty"`
}

type accessLogPolicy struct {
	Enabled  bool     `json:"enabled"`
	Sampling float64  `json:"sampling"`
	Fields   []string `json:"fields,omitempty"`
}

type tracingPolicy struct {
	Propagate       bool `json:"propagate"`
	StartWhenAbsent bool `json:"startWhenAbsent,omitempty"`
}

// filterConfig is the map form every built-in filter takes from the control plane.
type filterConfig struct {
	Services map[string]any `json:"services"`
}

// empty is the empty policy `{}` of a service no resource configures for a filter.
type empty struct{}

// FilterConfigs returns the JSON configuration of each built-in filter (keyed by filter
// name) for the resources: the per-service map `{"services": {...}}` with an entry for every
// Service (`{}` when no resource configures the filter for it, except the fault filter's
// `{"triggerHeader":{"enabled":false}}`: the trigger header belongs to a FaultInjection that
// enables it). The output is deterministic: services and map keys are sorted.
func FilterConfigs(set *crd.Set) (map[string][]byte, error) {
	if err := crd.UniqueServiceNames(set); err != nil {
		return nil, err
	}
	maps := map[string]map[string]any{}
	for _, f := range Filters() {
		maps[f] = map[string]any{}
	}
	for _, s := range set.Services {
		for _, f := range Filters() {
			maps[f][s.Metadata.Name] = empty{}
		}
		// The trigger header belongs to a FaultInjection that enables it: a Service without
		// one takes no faults, triggered or not (said explicitly, whatever the filter's own
		// default).
		maps[FilterFault][s.Metadata.Name] = faultPolicy{TriggerHeader: &triggerHeader{Enabled: false}}
	}
	for _, r := range set.TrafficRoutes {
		if len(r.Spec.Rules) > 0 {
			maps[FilterRouter][r.Spec.Service] = routerPolicy{Rules: r.Spec.Rules}
		}
		if sp := r.Spec.Split; sp != nil {
			maps[FilterCanary][r.Spec.Service] = canaryPolicy{
				Weights: sp.Weights, Overrides: sp.Overrides, Sticky: sp.Sticky, ResponseHeader: sp.ResponseHeader,
			}
		}
	}
	for _, fi := range set.FaultInjections {
		name, enabled := fi.Spec.Trigger()
		p := faultPolicy{Rules: fi.Spec.Rules, TriggerHeader: &triggerHeader{Enabled: enabled}, MaxActiveDelays: fi.Spec.MaxActiveDelays}
		if enabled {
			p.TriggerHeader.Name = name
			p.TriggerHeader.Callers = fi.Spec.TriggerHeader.Callers
			if d := fi.Spec.TriggerHeader.MaxDelay; d != nil {
				p.TriggerHeader.MaxDelay = d.Duration.String()
			}
		}
		maps[FilterFault][fi.Spec.Service] = p
	}
	// A Telemetry for every Service first, then the ones naming Services win.
	for _, pass := range []bool{true, false} {
		for _, t := range set.Telemetries {
			if (len(t.Spec.Services) == 0) != pass {
				continue
			}
			p := telemetryOf(&t.Spec)
			targets := t.Spec.Services
			if pass {
				targets = nil
				for _, s := range set.Services {
					targets = append(targets, s.Metadata.Name)
				}
			}
			for _, svc := range targets {
				maps[FilterTelemetry][svc] = p
			}
		}
	}
	out := make(map[string][]byte, len(maps))
	for f, m := range maps {
		b, err := json.Marshal(filterConfig{Services: m})
		if err != nil {
			return nil, fmt.Errorf("%s filter config: %w", f, err)
		}
		out[f] = b
	}
	return out, nil
}

func telemetryOf(s *crd.TelemetrySpec) telemetryPolicy {
	var p telemetryPolicy
	if m := s.Metrics; m != nil {
		p.Metrics = &metricsPolicy{Enabled: m.IsEnabled(), Dimensions: m.Dimensions}
	}
	if a := s.AccessLog; a != nil {
		p.AccessLog = &accessLogPolicy{Enabled: a.IsEnabled(), Sampling: a.SamplingPercent(), Fields: a.Fields}
	}
	if t := s.Tracing; t != nil {
		p.Tracing = &tracingPolicy{Propagate: t.Propagates(), StartWhenAbsent: t.StartWhenAbsent}
	}
	return p
}

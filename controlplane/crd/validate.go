package crd

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// DefaultFaultTriggerHeader is the fault filter's default trigger header.
const DefaultFaultTriggerHeader = fault.DefaultTriggerHeader

// RetryOnConditions returns the Envoy retry conditions a TrafficRoute may name in retries.retryOn.
func RetryOnConditions() []string {
	return []string{"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
		"envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes",
		"retriable-headers", "http3-post-connect-failure"}
}

// Validate checks one resource's structure (not its references to other resources) and returns
// every problem with its field path.
func Validate(o Object) []*FieldError {
	v := &validator{}
	v.meta(o.Meta())
	switch o := o.(type) {
	case *Service:
		v.service(&o.Spec)
	case *TrafficRoute:
		v.trafficRoute(&o.Spec)
	case *FaultInjection:
		v.faultInjection(&o.Spec)
	case *Telemetry:
		v.telemetry(&o.Spec)
	case *WasmPlugin:
		v.wasmPlugin(&o.Spec)
	case *TransportPolicy:
		v.transportPolicy(&o.Spec)
	case *AuthorizationPolicy:
		v.authorizationPolicy(&o.Spec)
	}
	return v.errs
}

type validator struct{ errs []*FieldError }

func (v *validator) fail(path, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Err: fmt.Errorf(format, args...)})
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// name checks a DNS-1123 label (names of resources, services and versions).
func (v *validator) name(path, s string) {
	switch {
	case s == "":
		v.fail(path, "required")
	case len(s) > 63:
		v.fail(path, "%q is longer than 63 characters", s)
	case !dnsLabel.MatchString(s):
		v.fail(path, "%q must consist of lowercase letters, digits and '-', and start and end with a letter or digit", s)
	}
}

func (v *validator) meta(m *ObjectMeta) {
	v.name("metadata.name", m.Name)
	if m.Namespace != "" {
		v.name("metadata.namespace", m.Namespace)
	}
	for k := range sortedKeys(m.Labels) {
		if k == "" || len(k) > 253 {
			v.fail("metadata.labels", "label key %q must be 1 to 253 characters", k)
		}
	}
}

func sortedKeys[V any](m map[string]V) func(func(string) bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return slices.Values(keys)
}

func (v *validator) percentage(path string, p float64) {
	if p < 0 || p > 100 {
		v.fail(path, "must be between 0 and 100, got %v", p)
	}
}

// requiredPercentage checks that a percentage is given (what: the fault it shares out); its
// range is the filter's to check.
func (v *validator) requiredPercentage(path string, p *float64, what string) {
	if p == nil {
		v.fail(path, "required (the share of matching requests to %s, 0 to 100)", what)
	}
}

func (v *validator) service(s *ServiceSpec) {
	if s.Port == 0 || s.Port > 65535 {
		v.fail("spec.port", "must be between 1 and 65535, got %d", s.Port)
	}
	if len(s.Versions) == 0 {
		v.fail("spec.versions", "at least one version is required")
	}
	seen := map[string]bool{}
	for i, ver := range s.Versions {
		p := fmt.Sprintf("spec.versions[%d]", i)
		v.name(p+".name", ver.Name)
		if ver.Name != "" && seen[ver.Name] {
			v.fail(p+".name", "version %q is defined twice", ver.Name)
		}
		seen[ver.Name] = true
		if len(ver.Endpoints) == 0 {
			v.fail(p+".endpoints", "at least one endpoint (host:port) is required")
		}
		for j, ep := range ver.Endpoints {
			v.hostPort(fmt.Sprintf("%s.endpoints[%d]", p, j), ep)
		}
	}
	if s.DefaultVersion != "" && !seen[s.DefaultVersion] {
		v.fail("spec.defaultVersion", "version %q is not in spec.versions", s.DefaultVersion)
	}
	if p := s.TrafficPolicy; p != nil {
		v.trafficPolicy(p)
	}
}

// MaxRetryAttempts bounds spec.retries.attempts: more retries only multiply the load on a
// failing Service.
const MaxRetryAttempts = 10

func (v *validator) trafficPolicy(p *TrafficPolicy) {
	const path = "spec.trafficPolicy"
	if p.Failover == nil && p.ConnectionPool == nil && p.OutlierDetection == nil && p.HealthCheck == nil {
		v.fail(path, "at least one of failover, connectionPool, outlierDetection, healthCheck is required")
	}
	atLeast1 := func(path string, n *uint32) {
		if n != nil && *n == 0 {
			v.fail(path, "must be at least 1 (leave it out for the default)")
		}
	}
	positive := func(path string, d *Duration) {
		if d != nil && d.Duration <= 0 {
			v.fail(path, "must be a positive duration such as \"5s\"")
		}
	}
	if c := p.ConnectionPool; c != nil {
		cp := path + ".connectionPool"
		if c.MaxConnections == nil && c.MaxPendingRequests == nil && c.MaxRequests == nil && c.MaxRetries == nil {
			v.fail(cp, "at least one of maxConnections, maxPendingRequests, maxRequests, maxRetries is required")
		}
		atLeast1(cp+".maxConnections", c.MaxConnections)
		atLeast1(cp+".maxPendingRequests", c.MaxPendingRequests)
		atLeast1(cp+".maxRequests", c.MaxRequests)
		// maxRetries 0 is meaningful: no concurrent retries at all.
	}
	if o := p.OutlierDetection; o != nil {
		op := path + ".outlierDetection"
		off := o.Enabled != nil && !*o.Enabled
		if off && (o.Consecutive5xx != nil || o.ConsecutiveGatewayErrors != nil || o.Interval != nil || o.BaseEjectionTime != nil || o.MaxEjectionPercent != nil) {
			v.fail(op, "enabled is false: remove the other fields, or enable it")
		}
		atLeast1(op+".consecutive5xx", o.Consecutive5xx)
		atLeast1(op+".consecutiveGatewayErrors", o.ConsecutiveGatewayErrors)
		positive(op+".interval", o.Interval)
		positive(op+".baseEjectionTime", o.BaseEjectionTime)
		if m := o.MaxEjectionPercent; m != nil && (*m == 0 || *m > 100) {
			v.fail(op+".maxEjectionPercent", "must be between 1 and 100, got %d", *m)
		}
	}
	if h := p.HealthCheck; h != nil {
		hp := path + ".healthCheck"
		switch {
		case h.Path == "":
			v.fail(hp+".path", "required (for example /healthz)")
		case !strings.HasPrefix(h.Path, "/"):
			v.fail(hp+".path", "must start with /, got %q", h.Path)
		}
		positive(hp+".interval", h.Interval)
		positive(hp+".timeout", h.Timeout)
		atLeast1(hp+".healthyThreshold", h.HealthyThreshold)
		atLeast1(hp+".unhealthyThreshold", h.UnhealthyThreshold)
		if hc, _ := p.Health(); h.Timeout != nil && hc.Timeout > hc.Interval {
			v.fail(hp+".timeout", "must not be longer than the interval (%s)", hc.Interval)
		}
	}
}

func (v *validator) hostPort(path, s string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		v.fail(path, "%q is not host:port", s)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.fail(path, "%q: port must be between 1 and 65535", s)
	}
}

// match checks a match with the match schema's own parser (sdk/match): the one validator the
// filters run too.
func (v *validator) match(path string, m *Match) {
	v.errs = append(v.errs, FilterProblems(path, m, match.Parse)...)
}

func (v *validator) trafficRoute(s *TrafficRouteSpec) {
	v.name("spec.service", s.Service)
	if len(s.Rules) == 0 && s.Split == nil && s.Timeout == nil && s.Retries == nil && s.Mirror == nil {
		v.fail("spec", "at least one of rules, split, timeout, retries, mirror is required")
	}
	if m := s.Mirror; m != nil {
		if m.Version == "" {
			v.fail("spec.mirror.version", "required")
		}
		if m.Percentage <= 0 || m.Percentage > 100 {
			v.fail("spec.mirror.percentage", "must be more than 0 and at most 100, got %v", m.Percentage)
		}
	}
	names := map[string]bool{}
	for i, r := range s.Rules {
		p := fmt.Sprintf("spec.rules[%d]", i)
		v.name(p+".name", r.Name)
		if r.Name != "" && names[r.Name] {
			v.fail(p+".name", "rule %q is defined twice", r.Name)
		}
		names[r.Name] = true
		if r.Destination == nil && r.RequestHeaders == nil && r.Rewrite == nil && s.Split == nil {
			v.fail(p, "the rule does nothing: set destination, requestHeaders or rewrite (or a spec.split for it to use)")
		}
		if h := r.RequestHeaders; h != nil && len(h.Add) == 0 && len(h.Remove) == 0 {
			v.fail(p+".requestHeaders", "at least one of add, remove is required")
		}
	}
	// Matches, destinations, header edits and rewrites: the router's own parser.
	if len(s.Rules) > 0 {
		v.errs = append(v.errs, FilterProblems("spec", s.RouterPolicy(), router.ParseConfig)...)
	}
	if sp := s.Split; sp != nil {
		if len(sp.Weights) == 0 {
			v.fail("spec.split.weights", "at least one version is required")
		}
		for i, o := range sp.Overrides {
			if o.Match.IsEmpty() {
				v.fail(fmt.Sprintf("spec.split.overrides[%d].match", i), "required (an empty match would send every request to %q)", o.Version)
			}
		}
		// Weights, overrides, stickiness: the canary filter's own parser (the split is its policy).
		v.errs = append(v.errs, FilterProblems("spec.split", sp, canary.ParseConfig)...)
	}
	if s.Timeout != nil && s.Timeout.Duration < 0 {
		v.fail("spec.timeout", "must not be negative")
	}
	if r := s.Retries; r != nil {
		off := r.Attempts != nil && *r.Attempts == 0
		if r.Attempts != nil && *r.Attempts > MaxRetryAttempts {
			v.fail("spec.retries.attempts", "must be at most %d, got %d", MaxRetryAttempts, *r.Attempts)
		}
		if off && (r.PerTryTimeout != nil || len(r.RetryOn) > 0) {
			v.fail("spec.retries", "attempts 0 turns retries off: remove perTryTimeout and retryOn, or set attempts")
		}
		if r.PerTryTimeout != nil && r.PerTryTimeout.Duration <= 0 {
			v.fail("spec.retries.perTryTimeout", "must be positive")
		}
		for i, c := range r.RetryOn {
			if !slices.Contains(RetryOnConditions(), c) {
				v.fail(fmt.Sprintf("spec.retries.retryOn[%d]", i), "unknown condition %q (known: %s)", c, strings.Join(RetryOnConditions(), ", "))
			}
		}
	}
}

func (v *validator) faultInjection(s *FaultInjectionSpec) {
	v.name("spec.service", s.Service)
	if _, triggerOn := s.Trigger(); len(s.Rules) == 0 && !triggerOn {
		v.fail("spec", "no rules and the trigger header is disabled: the resource would do nothing")
	}
	names := map[string]bool{}
	for i, r := range s.Rules {
		p := fmt.Sprintf("spec.rules[%d]", i)
		v.name(p+".name", r.Name)
		if r.Name != "" && names[r.Name] {
			v.fail(p+".name", "rule %q is defined twice", r.Name)
		}
		names[r.Name] = true
		if d := r.Delay; d != nil {
			v.requiredPercentage(p+".delay.percentage", d.Percentage, "delay")
		}
		if a := r.Abort; a != nil {
			v.requiredPercentage(p+".abort.percentage", a.Percentage, "abort")
		}
	}
	if t := s.TriggerHeader; t != nil {
		v.serviceList("spec.triggerHeader.callers", t.Callers)
	}
	// Matches, delays, aborts and the trigger header as written: the fault filter's own parser.
	v.errs = append(v.errs, FilterProblems("spec", s.faultPolicy(true), fault.ParseConfig)...)
}

func (v *validator) telemetry(s *TelemetrySpec) {
	v.serviceList("spec.services", s.Services)
	if s.Metrics == nil && s.AccessLog == nil && s.Tracing == nil {
		v.fail("spec", "at least one of metrics, accessLog, tracing is required")
	}
	if t := s.Tracing; t != nil {
		v.tracing(t, len(s.Services) > 0)
	}
	// Dimensions, fields, sampling: the telemetry filter's own parser.
	v.errs = append(v.errs, FilterProblems("spec", s.TelemetryPolicy(), telemetry.ParseConfig)...)
}

func (v *validator) tracing(t *Tracing, perService bool) {
	if t.Sampling != nil {
		v.percentage("spec.tracing.sampling", *t.Sampling)
		if t.Provider == nil {
			v.fail("spec.tracing.sampling", "is the sampling of the provider's tracer: set spec.tracing.provider too")
		}
	}
	p := t.Provider
	if p == nil {
		return
	}
	if perService {
		v.fail("spec.tracing.provider", "only a Telemetry for every Service (without spec.services) may set a provider: Envoy's tracer belongs to the sidecar, not to a Service")
	}
	switch {
	case p.Zipkin == nil && p.OpenTelemetry == nil:
		v.fail("spec.tracing.provider", "one of zipkin, opentelemetry is required")
	case p.Zipkin != nil && p.OpenTelemetry != nil:
		v.fail("spec.tracing.provider", "zipkin and opentelemetry are exclusive (Envoy runs one tracer per listener)")
	}
	if z := p.Zipkin; z != nil {
		if z.Collector == "" {
			v.fail("spec.tracing.provider.zipkin.collector", "required: the collector's host:port (the control plane's HTTP address keeps traces for its UI)")
		} else {
			v.hostPort("spec.tracing.provider.zipkin.collector", z.Collector)
		}
		if z.Path != "" && (!strings.HasPrefix(z.Path, "/") || strings.ContainsAny(z.Path, " ?#")) {
			v.fail("spec.tracing.provider.zipkin.path", "%q must be a path starting with / (default /api/v2/spans)", z.Path)
		}
	}
	if o := p.OpenTelemetry; o != nil {
		if o.Collector == "" {
			v.fail("spec.tracing.provider.opentelemetry.collector", "required: the OTLP/gRPC collector's host:port")
		} else {
			v.hostPort("spec.tracing.provider.opentelemetry.collector", o.Collector)
		}
	}
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (v *validator) wasmPlugin(s *WasmPluginSpec) {
	m := s.Module
	switch {
	case m.File == "" && m.URL == "" && m.SHA256 == "":
		v.fail("spec.module", "one of file, url, sha256 is required")
	case m.File != "" && m.URL != "":
		v.fail("spec.module", "file and url are exclusive")
	case m.URL != "" && m.SHA256 == "":
		v.fail("spec.module.sha256", "required with url (the module's SHA-256, 64 hex digits)")
	}
	if m.URL != "" && !strings.HasPrefix(m.URL, "http://") && !strings.HasPrefix(m.URL, "https://") {
		v.fail("spec.module.url", "%q must be an http:// or https:// URL", m.URL)
	}
	if m.SHA256 != "" && !sha256Hex.MatchString(m.SHA256) {
		v.fail("spec.module.sha256", "%q is not a SHA-256 (64 lowercase hex digits)", m.SHA256)
	}
	switch s.Phase {
	case "", PhaseBefore, PhaseAfter:
	default:
		v.fail("spec.phase", "%q must be %q or %q", s.Phase, PhaseBefore, PhaseAfter)
	}
	switch s.FailurePolicy {
	case "", FailureReload, FailureClosed, FailureOpen:
		if s.FailurePolicy != "" && s.FailOpen != nil {
			if open := s.FailurePolicy == FailureOpen; open != *s.FailOpen {
				v.fail("spec.failOpen", "%v contradicts failurePolicy %s: drop failOpen (failurePolicy replaces it)", *s.FailOpen, s.FailurePolicy)
			}
		}
	default:
		v.fail("spec.failurePolicy", "%q must be %s (default), %s or %s", s.FailurePolicy, FailureReload, FailureClosed, FailureOpen)
	}
	if n := len(s.Config); n > MaxPluginConfigBytes {
		v.fail("spec.config", "%d bytes, more than the limit of %d (%d KiB): pass large data to the plugin another way (a file it fetches, shared data)", n, MaxPluginConfigBytes, MaxPluginConfigBytes>>10)
	}
	v.serviceList("spec.selector.services", s.Selector.Services)
}

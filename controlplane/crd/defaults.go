package crd

import (
	"slices"
	"time"
)

// Effective values of optional fields, so that every reader applies the same defaults.

// DefaultAccessLogSampling is the access-log sampling percentage when none is given.
const DefaultAccessLogSampling = 100.0

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// IsEnabled reports whether metrics are on: given and not disabled.
func (m *Metrics) IsEnabled() bool { return m != nil && boolOr(m.Enabled, true) }

// IsEnabled reports whether access logging is on: given and not disabled.
func (a *AccessLog) IsEnabled() bool { return a != nil && boolOr(a.Enabled, true) }

// SamplingPercent returns the sampling percentage (default DefaultAccessLogSampling).
func (a *AccessLog) SamplingPercent() float64 {
	if a == nil || a.Sampling == nil {
		return DefaultAccessLogSampling
	}
	return *a.Sampling
}

// Propagates reports whether trace context is forwarded (default true, also when tracing is
// not configured).
func (t *Tracing) Propagates() bool { return t == nil || boolOr(t.Propagate, true) }

// Trigger returns the fault trigger header and whether it is enabled (default
// DefaultFaultTriggerHeader, enabled).
func (s *FaultInjectionSpec) Trigger() (name string, enabled bool) {
	name, enabled = DefaultFaultTriggerHeader, false
	if t := s.TriggerHeader; t != nil {
		enabled = boolOr(t.Enabled, false)
		if t.Name != "" {
			name = t.Name
		}
	}
	return name, enabled
}

// EffectivePhase returns Phase, or PhaseAfter when it is empty.
func (s *WasmPluginSpec) EffectivePhase() string {
	if s.Phase == "" {
		return PhaseAfter
	}
	return s.Phase
}

// Mesh defaults of the resilience policy (docs/crds.md#trafficpolicy): what a Service or
// TrafficRoute that says nothing gets.
const (
	DefaultRetryAttempts        = 2
	DefaultConsecutive5xx       = 5
	DefaultOutlierInterval      = 5 * time.Second
	DefaultBaseEjectionTime     = 30 * time.Second
	DefaultMaxEjectionPercent   = 50
	DefaultHealthCheckInterval  = 5 * time.Second
	DefaultHealthCheckTimeout   = time.Second
	DefaultHealthyThreshold     = 1
	DefaultUnhealthyThreshold   = 2
	DefaultRetryBudgetPercent   = 20.0
	DefaultRetryMinConcurrency  = 3
	DefaultHostSelectionRetries = 3
)

// DefaultRetryOn returns the mesh's retry conditions for every method: failures where the
// request never reached the upstream app, so a retry is always safe.
func DefaultRetryOn() []string {
	return []string{"connect-failure", "refused-stream", "reset-before-request"}
}

// DefaultIdempotentRetryOn returns the mesh's retry conditions for idempotent methods
// (IdempotentMethods): DefaultRetryOn plus resets after the request was sent and 503 answers.
func DefaultIdempotentRetryOn() []string {
	return []string{"connect-failure", "refused-stream", "reset", "retriable-status-codes"}
}

// DefaultRetriableStatusCodes are the answers retried on idempotent methods by default.
func DefaultRetriableStatusCodes() []uint32 { return []uint32{503} }

// IdempotentMethods returns the HTTP methods the mesh's default retries treat as idempotent.
func IdempotentMethods() []string {
	return []string{"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}
}

func u32Or(p *uint32, def uint32) uint32 {
	if p == nil {
		return def
	}
	return *p
}

func durOr(p *Duration, def time.Duration) time.Duration {
	if p == nil {
		return def
	}
	return p.Duration
}

// FailoverEnabled reports whether version failover is on (default true).
func (p *TrafficPolicy) FailoverEnabled() bool {
	return p == nil || p.Failover == nil || boolOr(p.Failover.Enabled, true)
}

// OutlierPolicy is an outlier detection with every default resolved.
type OutlierPolicy struct {
	Consecutive5xx           uint32
	ConsecutiveGatewayErrors uint32 // 0: off
	Interval                 time.Duration
	BaseEjectionTime         time.Duration
	MaxEjectionPercent       uint32
}

// Outlier returns the effective outlier detection, and false when it is disabled.
func (p *TrafficPolicy) Outlier() (OutlierPolicy, bool) {
	var o OutlierDetection
	if p != nil && p.OutlierDetection != nil {
		o = *p.OutlierDetection
	}
	if !boolOr(o.Enabled, true) {
		return OutlierPolicy{}, false
	}
	return OutlierPolicy{
		Consecutive5xx:           u32Or(o.Consecutive5xx, DefaultConsecutive5xx),
		ConsecutiveGatewayErrors: u32Or(o.ConsecutiveGatewayErrors, 0),
		Interval:                 durOr(o.Interval, DefaultOutlierInterval),
		BaseEjectionTime:         durOr(o.BaseEjectionTime, DefaultBaseEjectionTime),
		MaxEjectionPercent:       u32Or(o.MaxEjectionPercent, DefaultMaxEjectionPercent),
	}, true
}

// HealthCheckPolicy is an active health check with every default resolved.
type HealthCheckPolicy struct {
	Path                                 string
	Interval, Timeout                    time.Duration
	HealthyThreshold, UnhealthyThreshold uint32
}

// Health returns the effective active health check, and false when there is none.
func (p *TrafficPolicy) Health() (HealthCheckPolicy, bool) {
	if p == nil || p.HealthCheck == nil {
		return HealthCheckPolicy{}, false
	}
	h := p.HealthCheck
	return HealthCheckPolicy{
		Path:               h.Path,
		Interval:           durOr(h.Interval, DefaultHealthCheckInterval),
		Timeout:            durOr(h.Timeout, DefaultHealthCheckTimeout),
		HealthyThreshold:   u32Or(h.HealthyThreshold, DefaultHealthyThreshold),
		UnhealthyThreshold: u32Or(h.UnhealthyThreshold, DefaultUnhealthyThreshold),
	}, true
}

// RetryPolicy is a route's retry policy with every default resolved.
type RetryPolicy struct {
	Attempts      uint32 // 0: no retries
	PerTryTimeout time.Duration
	// RetryOn applies to every method. IdempotentRetryOn, when set (the mesh default), applies
	// to IdempotentMethods instead, with RetriableStatusCodes.
	RetryOn              []string
	IdempotentRetryOn    []string
	RetriableStatusCodes []uint32
}

// EffectiveRetries returns the route's retry policy: the mesh defaults overridden by what the
// TrafficRoute (which may be nil) says.
func EffectiveRetries(tr *TrafficRoute) RetryPolicy {
	p := RetryPolicy{Attempts: DefaultRetryAttempts, RetryOn: DefaultRetryOn(),
		IdempotentRetryOn: DefaultIdempotentRetryOn(), RetriableStatusCodes: DefaultRetriableStatusCodes()}
	if tr == nil || tr.Spec.Retries == nil {
		return p
	}
	r := tr.Spec.Retries
	p.Attempts = u32Or(r.Attempts, DefaultRetryAttempts)
	if p.Attempts == 0 {
		return RetryPolicy{}
	}
	p.PerTryTimeout = durOr(r.PerTryTimeout, 0)
	if len(r.RetryOn) > 0 {
		p.RetryOn, p.IdempotentRetryOn, p.RetriableStatusCodes = slices.Clone(r.RetryOn), nil, nil
	}
	return p
}

// EffectiveFailurePolicy returns FailurePolicy, else what FailOpen says, else Reload.
func (s *WasmPluginSpec) EffectiveFailurePolicy() string {
	switch {
	case s.FailurePolicy != "":
		return s.FailurePolicy
	case s.FailOpen != nil && *s.FailOpen:
		return FailureOpen
	case s.FailOpen != nil:
		return FailureClosed
	}
	return FailureReload
}

// DefaultTraceSampling is the percentage of requests traced when a tracing provider is set
// without sampling.
const DefaultTraceSampling = 1.0

// SamplingPercent is the tracer's sampling percentage (default DefaultTraceSampling).
func (t *Tracing) SamplingPercent() float64 {
	if t == nil || t.Sampling == nil {
		return DefaultTraceSampling
	}
	return *t.Sampling
}

// ZipkinPath is the span endpoint of a Zipkin collector (default /api/v2/spans).
func (z *ZipkinProvider) ZipkinPath() string {
	if z.Path == "" {
		return "/api/v2/spans"
	}
	return z.Path
}

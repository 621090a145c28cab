package crd

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
	name, enabled = DefaultFaultTriggerHeader, true
	if t := s.TriggerHeader; t != nil {
		enabled = boolOr(t.Enabled, true)
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

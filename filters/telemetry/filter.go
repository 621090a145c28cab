package telemetry

import (
	"github.com/wasmesh/wasmesh/sdk/config"
	"time"

	"github.com/wasmesh/wasmesh/sdk/accesslog"
)

// Metric names (docs/filters.md). Tags follow as `;key=value` in the order of the dimensions.
const (
	MetricRequests        = "wasmesh_requests_total"
	MetricRequestDuration = "wasmesh_request_duration_ms"
	MetricRequestBytes    = "wasmesh_request_bytes"
	MetricResponseBytes   = "wasmesh_response_bytes"
)

// AccessLogPrefix starts every access-log line (the rest is one JSON object).
const AccessLogPrefix = "wasmesh-access "

// Filter is a compiled telemetry configuration.
type Filter struct {
	policies config.PerService[*Compiled]
	ids      map[string]*metricIDs // by tag key (dimension values)
	key      []byte                // reused tag-key buffer
	line     []byte                // reused access-log buffer
}

// Compiled is one compiled telemetry policy.
type Compiled struct {
	Metrics         bool
	Dims            []string
	AccessLog       bool
	Sampling        float64
	fields          uint32 // bit i: allFields[i]
	Propagate       bool
	StartWhenAbsent bool
	NeedsRoute      bool
	dimsKey         string
}

// New compiles cfg (already validated by ParseConfig), applying the defaults.
func New(cfg Config) (*Filter, error) {
	f := &Filter{ids: map[string]*metricIDs{}}
	f.policies = config.CompilePerService(cfg.Policy, cfg.Services, compile)
	return f, nil
}

func compile(p Policy) *Compiled {
	c := &Compiled{Metrics: true, Dims: defaultDimensions, AccessLog: true, Sampling: 100, Propagate: true, StartWhenAbsent: true}
	if m := p.Metrics; m != nil {
		c.Metrics = m.Enabled == nil || *m.Enabled
		if m.Dimensions != nil {
			c.Dims = m.Dimensions
		}
	}
	for _, d := range c.Dims {
		if d == DimRoute {
			c.NeedsRoute = true
		}
	}
	fields := allFields
	if a := p.AccessLog; a != nil {
		c.AccessLog = a.Enabled == nil || *a.Enabled
		if a.Sampling != nil {
			c.Sampling = *a.Sampling
		}
		if len(a.Fields) > 0 {
			fields = a.Fields
		}
	}
	for i, name := range allFields {
		for _, f := range fields {
			if f == name {
				c.fields |= 1 << i
			}
		}
	}
	if t := p.Tracing; t != nil {
		c.Propagate = t.Propagate == nil || *t.Propagate
		c.StartWhenAbsent = t.StartWhenAbsent == nil || *t.StartWhenAbsent
	}
	return c
}

// For returns the policy of a service, or nil when it has none.
func (f *Filter) For(service string) *Compiled {
	p, _ := f.policies.For(service)
	return p
}

// Observation is what the plugin saw of one request.
type Observation struct {
	Time                               time.Time
	Method, Path, Authority            string
	Status                             int
	Duration                           time.Duration
	RequestBytes, ResponseBytes        int64
	SourceService, SourceVersion       string
	DestinationService, DestinationVer string
	Route                              string
	RequestID, TraceID                 string
}

// Dim returns the value of one dimension.
func (o *Observation) Dim(d string) string {
	switch d {
	case DimSourceService:
		return orUnknown(o.SourceService)
	case DimSourceVersion:
		return orUnknown(o.SourceVersion)
	case DimDestinationService:
		return orUnknown(o.DestinationService)
	case DimDestinationVersion:
		return orUnknown(o.DestinationVer)
	case DimRoute:
		return orUnknown(o.Route)
	case DimMethod:
		return NormalizeMethod(o.Method)
	case DimResponseCodeClass:
		return CodeClass(o.Status)
	}
	return "unknown"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// AppendTagKey appends the dimension values (separated by ';') to buf: the key the plugin
// caches metric IDs under.
func (p *Compiled) AppendTagKey(buf []byte, o *Observation) []byte {
	for i, d := range p.Dims {
		if i > 0 {
			buf = append(buf, ';')
		}
		buf = append(buf, sanitize(o.Dim(d))...)
	}
	return buf
}

// MetricName returns base tagged with the policy's dimensions:
// `wasmesh_requests_total;destination_service=reviews;method=GET`.
func (p *Compiled) MetricName(base string, o *Observation) string {
	b := []byte(base)
	for _, d := range p.Dims {
		b = append(b, ';')
		b = append(b, d...)
		b = append(b, '=')
		b = append(b, sanitize(o.Dim(d))...)
	}
	return string(b)
}

// sanitize keeps tag values from breaking the `;key=value` scheme.
func sanitize(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ';' || c == '=' || c <= ' ' || c >= 0x7f {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c == ';' || c == '=' || c <= ' ' || c >= 0x7f {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return s
}

// NormalizeMethod bounds the method dimension to the standard methods ("OTHER" else), so a
// client cannot create unbounded metric series.
func NormalizeMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return m
	}
	return "OTHER"
}

// CodeClass returns "2xx" … "5xx" for a status ("unknown" outside 100..599; 0 = no response).
func CodeClass(status int) string {
	switch status / 100 {
	case 1:
		return "1xx"
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return "unknown"
}

// AppendLogLine appends the access-log line (prefix and JSON object) for o to buf, with the
// policy's fields.
func (p *Compiled) AppendLogLine(buf []byte, o *Observation) []byte {
	buf = append(buf, AccessLogPrefix...)
	w := accesslog.Object(buf)
	for i, name := range allFields {
		if p.fields&(1<<i) == 0 {
			continue
		}
		switch name {
		case "time":
			w.Time(name, o.Time)
		case "method":
			w.String(name, o.Method)
		case "path":
			w.String(name, o.Path)
		case "authority":
			w.String(name, o.Authority)
		case "status":
			w.Int(name, int64(o.Status))
		case "duration_ms":
			w.Float(name, float64(o.Duration.Microseconds())/1000)
		case "request_bytes":
			w.Int(name, o.RequestBytes)
		case "response_bytes":
			w.Int(name, o.ResponseBytes)
		case "source_service":
			w.String(name, o.SourceService)
		case "destination_service":
			w.String(name, o.DestinationService)
		case "destination_version":
			w.String(name, o.DestinationVer)
		case "request_id":
			w.String(name, o.RequestID)
		case "trace_id":
			w.String(name, o.TraceID)
		}
	}
	return w.Close()
}

// DurationMS is the value recorded into the duration histogram.
func DurationMS(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d.Milliseconds())
}

// dimsKey identifies a policy's dimension list inside the metric-ID cache key (two services may
// tag by different dimensions).
func dimsKey(p *Compiled) string {
	if p.dimsKey == "" {
		b := []byte{}
		for _, d := range p.Dims {
			b = append(b, d...)
			b = append(b, ',')
		}
		p.dimsKey = string(b)
	}
	return p.dimsKey
}

// versionOf returns the version part of `<service>|<version>` ("" when there is none).
func versionOf(cluster string) string {
	for i := len(cluster) - 1; i >= 0; i-- {
		if cluster[i] == '|' {
			return cluster[i+1:]
		}
	}
	return ""
}

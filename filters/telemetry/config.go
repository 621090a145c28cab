package telemetry

import (
	"slices"
	"strings"

	"github.com/wasmesh/wasmesh/sdk/config"
)

// RootID is the telemetry filter's root_id in the bundle module.
const RootID = "telemetry"

// Dimensions a metric can be tagged with (docs/conventions.md tag keys).
const (
	DimSourceService      = "source_service"
	DimSourceVersion      = "source_version"
	DimDestinationService = "destination_service"
	DimDestinationVersion = "destination_version"
	DimRoute              = "route"
	DimMethod             = "method"
	DimResponseCodeClass  = "response_code_class"
)

// allDimensions lists every metric dimension; defaultDimensions is all but route.
var (
	allDimensions     = []string{DimSourceService, DimSourceVersion, DimDestinationService, DimDestinationVersion, DimRoute, DimMethod, DimResponseCodeClass}
	defaultDimensions = []string{DimSourceService, DimSourceVersion, DimDestinationService, DimDestinationVersion, DimMethod, DimResponseCodeClass}
)

// Dimensions returns every metric dimension a policy may name, in tag order.
func Dimensions() []string { return slices.Clone(allDimensions) }

// allFields are the access-log fields, in the order a log line has them.
var allFields = []string{"time", "method", "path", "authority", "status", "duration_ms", "request_bytes",
	"response_bytes", "source_service", "destination_service", "destination_version", "request_id", "trace_id"}

// Config is the telemetry filter's configuration: one Policy for every request, or a
// per-service map.
type Config struct {
	Policy
	Services map[string]Policy `json:"services,omitzero"`
}

// Policy is the telemetry of one service. Absent sections take their defaults (everything on).
type Policy struct {
	Metrics   *Metrics   `json:"metrics,omitempty"`
	AccessLog *AccessLog `json:"accessLog,omitempty"`
	Tracing   *Tracing   `json:"tracing,omitempty"`
}

// Metrics configures the request metrics.
type Metrics struct {
	Enabled    *bool    `json:"enabled,omitempty"`   // default true
	Dimensions []string `json:"dimensions,omitzero"` // default (nil, JSON null or absent): every dimension but route
}

// AccessLog configures the JSON access-log line.
type AccessLog struct {
	Enabled  *bool    `json:"enabled,omitempty"`  // default true
	Sampling *float64 `json:"sampling,omitempty"` // percent, default 100
	Fields   []string `json:"fields,omitzero"`    // default (nil, JSON null or absent): every field
}

// Tracing configures trace-context propagation.
type Tracing struct {
	Propagate       *bool `json:"propagate,omitempty"`       // default true
	StartWhenAbsent *bool `json:"startWhenAbsent,omitempty"` // default true
}

// ParseConfig parses and validates the telemetry filter's JSON configuration strictly; every
// problem is reported with its JSON path, joined with errors.Join.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	var err error
	cfg.Policy, cfg.Services, err = config.ParseServices(data, decodePolicy)
	return cfg, err
}

func decodePolicy(o config.Object) Policy {
	var p Policy
	if mo, ok := o.Object("metrics"); ok {
		p.Metrics = &Metrics{Enabled: optBool(mo, "enabled")}
		p.Metrics.Dimensions = oneOf(mo, "dimensions", allDimensions, "dimension")
		mo.Close()
	}
	if ao, ok := o.Object("accessLog"); ok {
		p.AccessLog = &AccessLog{Enabled: optBool(ao, "enabled")}
		if sv, ok := ao.Get("sampling"); ok {
			if f, ok := sv.Number(); ok {
				p.AccessLog.Sampling = &f
				if f < 0 || f > 100 {
					sv.Errorf("want a percentage 0..100, got %v", f)
				}
			}
		}
		p.AccessLog.Fields = oneOf(ao, "fields", allFields, "field")
		ao.Close()
	}
	if to, ok := o.Object("tracing"); ok {
		p.Tracing = &Tracing{Propagate: optBool(to, "propagate"), StartWhenAbsent: optBool(to, "startWhenAbsent")}
		to.Close()
	}
	o.Close()
	return p
}

func optBool(o config.Object, key string) *bool {
	var b bool
	if o.Bool(key, &b) {
		return &b
	}
	return nil
}

// oneOf decodes an array of distinct strings from a known set.
func oneOf(o config.Object, key string, known []string, what string) []string {
	arr, ok := o.Array(key)
	if !ok {
		return nil
	}
	out := []string{}
	for _, v := range arr {
		s, ok := v.String()
		if !ok {
			continue
		}
		switch {
		case !slices.Contains(known, s):
			v.Errorf("unknown %s %q (known: %s)", what, s, strings.Join(known, ", "))
		case slices.Contains(out, s):
			v.Errorf("duplicate %s %q", what, s)
		default:
			out = append(out, s)
		}
	}
	return out
}

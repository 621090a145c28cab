package crd

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/sdk/match"
)

// APIVersion is the apiVersion of every wasmesh resource.
const APIVersion = "wasmesh.io/v1alpha1"

// DefaultNamespace is the namespace of a resource whose metadata names none.
const DefaultNamespace = "default"

// Kind names a resource kind as written in YAML (`kind: TrafficRoute`).
type Kind string

// The resource kinds of wasmesh.io/v1alpha1.
const (
	KindService        Kind = "Service"
	KindTrafficRoute   Kind = "TrafficRoute"
	KindFaultInjection Kind = "FaultInjection"
	KindTelemetry      Kind = "Telemetry"
	KindWasmPlugin     Kind = "WasmPlugin"
	// KindTransportPolicy and KindAuthorizationPolicy are the security kinds (security.go).
	KindTransportPolicy     Kind = "TransportPolicy"
	KindAuthorizationPolicy Kind = "AuthorizationPolicy"
)

// Kinds returns every kind in the order resources are applied and listed: a Service before the
// resources that refer to it.
func Kinds() []Kind {
	return []Kind{KindService, KindTrafficRoute, KindFaultInjection, KindTelemetry, KindWasmPlugin, KindTransportPolicy, KindAuthorizationPolicy}
}

// TypeMeta is the apiVersion and kind every document starts with.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       Kind   `json:"kind"`
}

// ObjectMeta is a resource's metadata. Name, namespace and labels come from the user;
// generation and resourceVersion are set by the store and ignored on apply.
type ObjectMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Generation is bumped by the store each time the spec changes (1 on create).
	Generation int64 `json:"generation,omitempty"`
	// ResourceVersion is the store's global revision at the resource's last change.
	ResourceVersion uint64 `json:"resourceVersion,omitempty"`
	// CreationTimestamp is set by the store on create.
	CreationTimestamp *time.Time `json:"creationTimestamp,omitempty"`
}

// Status is filled server-side; whatever a user writes there is ignored on apply.
type Status struct {
	// ObservedGeneration is the generation the control plane last translated into the
	// sidecars' configuration (0: not yet); below metadata.generation, the latest change is
	// still on its way.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Nodes lists the Envoys whose configuration includes this resource, as the xDS server
	// reports them (filled by the API on read).
	Nodes []NodeStatus `json:"nodes,omitempty"`
}

// NodeStatus is one Envoy's state for one resource.
type NodeStatus struct {
	Node    string   `json:"node"`
	State   AckState `json:"state"`
	Version string   `json:"version,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Health says, for a WasmPlugin, what the node's own stats tell about it: panics the
	// adapter recovered, VM reloads and failed reloads ("" when none).
	Health string `json:"health,omitempty"`
}

// AckState is where one Envoy is with one resource.
type AckState string

// The states of a resource on an Envoy.
const (
	// Acked: the Envoy runs the resource's current generation.
	Acked AckState = "acked"
	// Pending: pushed, not acknowledged yet (or a refusal being retried, or a configuration
	// built from an older generation).
	Pending AckState = "pending"
	// NACKed: the Envoy refused it (NodeStatus.Error says why).
	NACKed AckState = "nacked"
)

// Duration is a time.Duration written as a Go duration string ("200ms", "1.5s").
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"200ms\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	d.Duration = v
	return nil
}

// ---------------------------------------------------------------------------------------------
// Service

// Service is a mesh service: its port and its versions with their endpoints.
type Service struct {
	TypeMeta
	Metadata ObjectMeta  `json:"metadata"`
	Spec     ServiceSpec `json:"spec"`
	Status   Status      `json:"status,omitzero"`
}

// ServiceSpec describes a Service.
type ServiceSpec struct {
	// Port is the port clients use in the authority (`reviews:9080`); the outbound virtual host
	// matches both `reviews` and `reviews:<port>`.
	Port uint32 `json:"port"`
	// Versions are the deployed versions; each becomes the Envoy cluster `<service>|<version>`.
	Versions []ServiceVersion `json:"versions"`
	// DefaultVersion serves requests no route rule or split decides; defaults to the first
	// version.
	DefaultVersion string `json:"defaultVersion,omitempty"`
	// TrafficPolicy is how callers' sidecars treat the Service's endpoints: version failover,
	// connection-pool limits (circuit breakers), outlier detection, active health checks.
	TrafficPolicy *TrafficPolicy `json:"trafficPolicy,omitempty"`
}

// TrafficPolicy is the resilience policy of a Service, applied by every caller's sidecar to
// the Service's clusters (docs/crds.md#trafficpolicy). Every field is optional; what is absent
// takes the mesh defaults (defaults.go).
type TrafficPolicy struct {
	// Failover sends a request to the Service's other versions when the chosen version has no
	// healthy endpoint (on by default).
	Failover *Failover `json:"failover,omitempty"`
	// ConnectionPool caps connections and requests per caller sidecar and version; what
	// exceeds a cap is answered 503 at once (Envoy circuit breakers).
	ConnectionPool *ConnectionPool `json:"connectionPool,omitempty"`
	// OutlierDetection ejects endpoints that fail in a row (on by default).
	OutlierDetection *OutlierDetection `json:"outlierDetection,omitempty"`
	// HealthCheck probes every endpoint over HTTP (off unless given).
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
}

// Failover configures version failover.
type Failover struct {
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
}

// ConnectionPool holds Envoy's circuit-breaker thresholds for each version of a Service, per
// caller sidecar. Absent fields keep Envoy's defaults (1024 each).
type ConnectionPool struct {
	MaxConnections     *uint32 `json:"maxConnections,omitempty"`
	MaxPendingRequests *uint32 `json:"maxPendingRequests,omitempty"`
	MaxRequests        *uint32 `json:"maxRequests,omitempty"`
	// MaxRetries caps concurrent retries to the Service; absent, a retry budget applies
	// (20% of active requests, at least 3).
	MaxRetries *uint32 `json:"maxRetries,omitempty"`
}

// OutlierDetection configures passive ejection of failing endpoints.
type OutlierDetection struct {
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// Consecutive5xx ejects an endpoint after this many 5xx answers or connection failures in
	// a row (default 5).
	Consecutive5xx *uint32 `json:"consecutive5xx,omitempty"`
	// ConsecutiveGatewayErrors ejects an endpoint after this many 502/503/504 answers or
	// connection failures in a row (absent: this detector is off).
	ConsecutiveGatewayErrors *uint32 `json:"consecutiveGatewayErrors,omitempty"`
	// Interval is how often ejections are reviewed (default 5s).
	Interval *Duration `json:"interval,omitempty"`
	// BaseEjectionTime is how long a first ejection lasts; it grows with each ejection
	// (default 30s).
	BaseEjectionTime *Duration `json:"baseEjectionTime,omitempty"`
	// MaxEjectionPercent caps the share of a version's endpoints ejected at once (default 50;
	// one endpoint may always be ejected).
	MaxEjectionPercent *uint32 `json:"maxEjectionPercent,omitempty"`
}

// HealthCheck configures active HTTP health checks of every endpoint of the Service.
type HealthCheck struct {
	// Path is requested on each endpoint; a 2xx answer is healthy.
	Path string `json:"path"`
	// Interval between checks (default 5s).
	Interval *Duration `json:"interval,omitempty"`
	// Timeout of one check (default 1s).
	Timeout *Duration `json:"timeout,omitempty"`
	// HealthyThreshold is the number of passing checks that bring an endpoint back
	// (default 1).
	HealthyThreshold *uint32 `json:"healthyThreshold,omitempty"`
	// UnhealthyThreshold is the number of failing checks that remove an endpoint (default 2).
	UnhealthyThreshold *uint32 `json:"unhealthyThreshold,omitempty"`
}

// ServiceVersion is one version of a Service.
type ServiceVersion struct {
	Name string `json:"name"`
	// Endpoints are "host:port" inbound addresses of this version's sidecars.
	Endpoints []string `json:"endpoints"`
}

// ---------------------------------------------------------------------------------------------
// Matching (shared by TrafficRoute, FaultInjection, AuthorizationPolicy)

// Match selects requests: every condition given must hold; an empty Match matches everything.
// It is the filters' own match schema (sdk/match), validated by the filters' own parser: a
// CRD can say whatever a filter accepts, and nothing else.
type Match = match.Spec

// ---------------------------------------------------------------------------------------------
// TrafficRoute

// TrafficRoute is the routing policy of one Service: ordered rules, a weighted split, timeout
// and retries. At most one TrafficRoute per Service.
type TrafficRoute struct {
	TypeMeta
	Metadata ObjectMeta       `json:"metadata"`
	Spec     TrafficRouteSpec `json:"spec"`
	Status   Status           `json:"status,omitzero"`
}

// TrafficRouteSpec describes a TrafficRoute.
type TrafficRouteSpec struct {
	// Service is the name of the Service this route applies to (same namespace).
	Service string `json:"service"`
	// Rules are tried in order; the first whose match holds applies (router filter).
	Rules []RouteRule `json:"rules,omitempty"`
	// Split picks the version for requests no rule sends to a fixed version (canary filter).
	Split *Split `json:"split,omitempty"`
	// Timeout is the Envoy route timeout (0 or absent: Envoy's default, 15s).
	Timeout *Duration `json:"timeout,omitempty"`
	// Retries overrides the mesh's default retry policy (see Retries).
	Retries *Retries `json:"retries,omitempty"`
	// Mirror copies a share of the Service's requests to one version; the copies' responses
	// are discarded.
	Mirror *Mirror `json:"mirror,omitempty"`
}

// Mirror copies Percentage of the requests to Version (Envoy's request mirror policy).
type Mirror struct {
	Version    string  `json:"version"`
	Percentage float64 `json:"percentage"`
}

// RouteRule is one ordered routing rule.
type RouteRule struct {
	Name  string `json:"name"`
	Match Match  `json:"match,omitzero"`
	// Destination fixes the version. Without it the split (or the Service's default version)
	// chooses.
	Destination *Destination `json:"destination,omitempty"`
	// RequestHeaders edits the request before it goes upstream.
	RequestHeaders *HeaderEdits `json:"requestHeaders,omitempty"`
	// Rewrite rewrites the path before it goes upstream.
	Rewrite *Rewrite `json:"rewrite,omitempty"`
}

// Destination is a version of the route's Service.
type Destination struct {
	Version string `json:"version"`
}

// HeaderEdits adds (replacing any existing value) and removes request headers: the router
// filter's type.
type HeaderEdits = router.HeaderEdits

// Rewrite replaces the matched path prefix (the rule's path.prefix, or "/" when the rule has
// none) with PathPrefix: the router filter's type.
type Rewrite = router.Rewrite

// Split is a weighted split across versions with overrides and stickiness: the canary
// filter's policy, as the filter takes it. Weights map version names to weights summing to
// 100; overrides are tried in order before the weights (the first whose match holds picks
// its version); sticky keeps a user on one version by hashing a header or cookie value;
// responseHeader names a response header reporting the version that served.
type Split = canary.Policy

// Retries is a route's retry policy. Without it (or with fields left out) the mesh defaults
// apply: 2 retries on connection failures, refused streams and resets before the request was
// sent, plus resets and 503 answers for idempotent methods, each on another endpoint (and
// version, with failover). Attempts 0 turns retries off.
type Retries struct {
	// Attempts is the number of retries after the first try (default 2; 0: no retries).
	Attempts      *uint32   `json:"attempts,omitempty"`
	PerTryTimeout *Duration `json:"perTryTimeout,omitempty"`
	// RetryOn lists Envoy retry conditions (`5xx`, `gateway-error`, `reset`,
	// `connect-failure`, `retriable-4xx`, `refused-stream`, ...) for every method; default:
	// the mesh's conditions (see Retries).
	RetryOn []string `json:"retryOn,omitempty"`
}

// ---------------------------------------------------------------------------------------------
// FaultInjection

// FaultInjection injects delays and aborts into calls to one Service.
type FaultInjection struct {
	TypeMeta
	Metadata ObjectMeta         `json:"metadata"`
	Spec     FaultInjectionSpec `json:"spec"`
	Status   Status             `json:"status,omitzero"`
}

// FaultInjectionSpec describes a FaultInjection.
type FaultInjectionSpec struct {
	// Service is the target Service (same namespace).
	Service string `json:"service"`
	// Rules are tried in order; the first whose match holds applies.
	Rules []FaultRule `json:"rules,omitempty"`
	// TriggerHeader lets a request force a fault (`x-wasmesh-fault: abort=503`); off unless
	// enabled.
	TriggerHeader *TriggerHeader `json:"triggerHeader,omitempty"`
	// MaxActiveDelays caps concurrently delayed streams per Envoy worker (0: no cap).
	MaxActiveDelays uint32 `json:"maxActiveDelays,omitempty"`
}

// FaultRule injects a delay, an abort or both into matching requests.
type FaultRule struct {
	Name  string      `json:"name"`
	Match Match       `json:"match,omitzero"`
	Delay *FaultDelay `json:"delay,omitempty"`
	Abort *FaultAbort `json:"abort,omitempty"`
}

// FaultDelay delays a percentage of requests by a fixed duration.
type FaultDelay struct {
	Fixed Duration `json:"fixed"`
	// Percentage is required: a fault that silently never fires helps nobody.
	Percentage *float64 `json:"percentage"`
}

// FaultAbort answers a percentage of requests with an HTTP status, or a gRPC status for gRPC
// requests; at least one of HTTPStatus and GRPCStatus is set.
type FaultAbort struct {
	HTTPStatus uint32  `json:"httpStatus,omitempty"`
	GRPCStatus *uint32 `json:"grpcStatus,omitempty"`
	// Percentage is required, as in a delay.
	Percentage *float64 `json:"percentage"`
}

// TriggerHeader configures the fault trigger header. It is off unless Enabled; every
// sidecar strips `x-wasmesh-*` headers from requests entering the mesh, so only a caller
// inside the mesh can send it (docs/conventions.md, "The mesh boundary").
type TriggerHeader struct {
	// Enabled defaults to false.
	Enabled *bool `json:"enabled,omitempty"`
	// Name defaults to `x-wasmesh-fault`.
	Name string `json:"name,omitempty"`
	// Callers, when set, limits the header to requests from these Services' sidecars.
	Callers []string `json:"callers,omitempty"`
	// MaxDelay caps a triggered delay (default 1s).
	MaxDelay *Duration `json:"maxDelay,omitempty"`
}

// ---------------------------------------------------------------------------------------------
// Telemetry

// Telemetry configures metrics, access logs and tracing for some or all Services.
type Telemetry struct {
	TypeMeta
	Metadata ObjectMeta    `json:"metadata"`
	Spec     TelemetrySpec `json:"spec"`
	Status   Status        `json:"status,omitzero"`
}

// TelemetrySpec describes a Telemetry.
type TelemetrySpec struct {
	// Services lists the Services (same namespace) this applies to; empty means every Service.
	// A Telemetry naming a Service wins over one that names none.
	Services  []string   `json:"services,omitempty"`
	Metrics   *Metrics   `json:"metrics,omitempty"`
	AccessLog *AccessLog `json:"accessLog,omitempty"`
	Tracing   *Tracing   `json:"tracing,omitempty"`
}

// Metrics configures the request metrics.
type Metrics struct {
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// Dimensions are the metric tags, from: source_service, source_version,
	// destination_service, destination_version, route, method, response_code_class.
	// (The request-duration histogram's buckets are Envoy's: the sidecar bootstrap's
	// stats_config.histogram_bucket_settings, docs/filters.md.)
	Dimensions []string `json:"dimensions,omitempty"`
}

// AccessLog configures the JSON access-log line.
type AccessLog struct {
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// Sampling is the percentage of requests logged (default 100).
	Sampling *float64 `json:"sampling,omitempty"`
	// Fields are the fields of the log line (default: the filter's default set).
	Fields []string `json:"fields,omitempty"`
}

// Tracing configures W3C trace-context handling.
type Tracing struct {
	// Propagate forwards traceparent/tracestate and x-request-id (default true).
	Propagate *bool `json:"propagate,omitempty"`
	// StartWhenAbsent starts a trace when a request carries no traceparent.
	StartWhenAbsent bool `json:"startWhenAbsent,omitempty"`
	// Provider makes every sidecar's Envoy emit spans with its native tracer (inbound and
	// outbound) to a collector. Only a Telemetry for every Service (no spec.services) may
	// set it: the tracer belongs to the sidecar, not to a Service.
	Provider *TracingProvider `json:"provider,omitempty"`
	// Sampling is the percentage of requests entering the mesh without a sampling decision
	// that are traced (default 1); a request carrying a decision keeps it.
	Sampling *float64 `json:"sampling,omitempty"`
}

// TracingProvider is the collector Envoy's tracer sends spans to; exactly one is set.
type TracingProvider struct {
	// Zipkin sends Zipkin v2 JSON over HTTP (Zipkin, Jaeger's Zipkin port, or the wasmesh
	// control plane, which keeps the last traces for its UI).
	Zipkin *ZipkinProvider `json:"zipkin,omitempty"`
	// OpenTelemetry sends OTLP over gRPC (an OpenTelemetry collector, Jaeger's OTLP port).
	OpenTelemetry *OpenTelemetryProvider `json:"opentelemetry,omitempty"`
}

// ZipkinProvider is a Zipkin collector.
type ZipkinProvider struct {
	// Collector is its host:port (the control plane's HTTP address accepts spans).
	Collector string `json:"collector"`
	// Path is the span endpoint (default /api/v2/spans).
	Path string `json:"path,omitempty"`
}

// OpenTelemetryProvider is an OTLP/gRPC collector.
type OpenTelemetryProvider struct {
	// Collector is its host:port.
	Collector string `json:"collector"`
}

// ---------------------------------------------------------------------------------------------
// WasmPlugin

// WasmPlugin installs a custom proxy-wasm filter on some sidecars.
type WasmPlugin struct {
	TypeMeta
	Metadata ObjectMeta     `json:"metadata"`
	Spec     WasmPluginSpec `json:"spec"`
	Status   Status         `json:"status,omitzero"`
}

// Phases of a WasmPlugin in the outbound chain.
const (
	PhaseBefore = "before" // before the built-in filters (after nothing)
	PhaseAfter  = "after"  // after the built-in filters, just before envoy.filters.http.router
)

// WasmPluginSpec describes a WasmPlugin.
type WasmPluginSpec struct {
	Module Module `json:"module"`
	// RootID selects the plugin in a module holding several (optional).
	RootID string `json:"rootId,omitempty"`
	// Phase is "before" or "after" the built-in filters (default "after").
	Phase string `json:"phase,omitempty"`
	// Priority orders plugins within a phase: higher runs first; ties by name.
	Priority int32 `json:"priority,omitempty"`
	// Selector picks the sidecars that get the plugin; empty selects every sidecar.
	Selector Selector `json:"selector,omitzero"`
	// Config is handed to the plugin as JSON (any YAML value; a string is passed as-is).
	Config json.RawMessage `json:"config,omitempty"`
	// FailurePolicy says what a sidecar does when the plugin fails to load or crashes:
	// Reload (the default: Envoy's FAIL_RELOAD, the VM is reloaded with backoff), Closed
	// (FAIL_CLOSED: requests get 503) or Open (FAIL_OPEN: requests pass without the plugin).
	FailurePolicy string `json:"failurePolicy,omitempty"`
	// FailOpen is the older form of `failurePolicy: Open` (true) and `Closed` (false but
	// set); it may not contradict FailurePolicy.
	FailOpen *bool `json:"failOpen,omitempty"`
}

// MaxPluginConfigBytes bounds a WasmPlugin's spec.config (as JSON): Envoy holds it in every
// sidecar's configuration and every worker's VM.
const MaxPluginConfigBytes = 256 << 10

// The failure policies of a WasmPlugin.
const (
	FailureReload = "Reload"
	FailureClosed = "Closed"
	FailureOpen   = "Open"
)

// Module says where a plugin's .wasm comes from: a local File (relative to the YAML file;
// the CLI uploads it and fills SHA256), a URL (with SHA256), or just the SHA256 of a module
// already uploaded. After apply, SHA256 is always set.
type Module struct {
	File   string `json:"file,omitempty"`
	URL    string `json:"url,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Selector picks sidecars by the Service they front.
type Selector struct {
	Services []string `json:"services,omitempty"`
}

package crd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd/crdtest"
)

const head = crdtest.Head

const svcReviews = crdtest.Reviews

func TestDecodeValid(t *testing.T) {
	data, err := os.ReadFile("testdata/valid.yaml")
	require.NoError(t, err)
	docs, err := Decode("valid.yaml", data)
	require.NoError(t, err)
	require.Len(t, docs, 6)

	var kinds []Kind
	for _, d := range docs {
		kinds = append(kinds, d.Object.GetKind())
		require.True(t, d.Validated, "admission need not validate it again")
	}
	require.Equal(t, []Kind{KindService, KindService, KindTrafficRoute, KindFaultInjection, KindTelemetry, KindWasmPlugin}, kinds)
	require.Equal(t, 3, docs[2].Index)
	require.Equal(t, "document 3 (TrafficRoute \"reviews\")", docs[2].Where())

	tr := docs[2].Object.(*TrafficRoute)
	require.Equal(t, map[string]int{"v1": 90, "v2": 10}, tr.Spec.Split.Weights)
	require.Equal(t, "v3", tr.Spec.Rules[0].Destination.Version)
	require.True(t, tr.Spec.Rules[0].Match.Query[0].Present)
	require.Equal(t, "2s", tr.Spec.Timeout.String())
	require.Equal(t, []string{"5xx", "reset"}, tr.Spec.Retries.RetryOn)

	fi := docs[3].Object.(*FaultInjection)
	require.Equal(t, 1.5, *fi.Spec.Rules[0].Abort.Percentage)
	require.Equal(t, uint32(14), *fi.Spec.Rules[0].Abort.GRPCStatus)

	wp := docs[5].Object.(*WasmPlugin)
	require.JSONEq(t, `{"header":"x-api-key","keys":["k1","k2"],"nested":{"n":1,"f":1.5,"b":true,"null":null}}`, string(wp.Spec.Config))
	require.Equal(t, `{"header":"x-api-key","keys":["k1","k2"],"nested":{"n":1,"f":1.5,"b":true,"null":null}}`, string(wp.Spec.Config), "key order is kept")

	// Lines point at the written field.
	require.Equal(t, 39, docs[2].LineOf("spec.rules[0].destination.version"))
	require.Equal(t, 43, docs[2].LineOf("spec.split.weights.v2"))

	// Every resource round-trips through JSON (store and API format).
	for _, d := range docs {
		b, err := Marshal(d.Object)
		require.NoError(t, err)
		o, err := Unmarshal(b)
		require.NoError(t, err)
		require.Equal(t, d.Object, o)
	}
}

// Unmarshal's problems read as Decode's: field paths, the house phrasing, no "json:".
func TestUnmarshalErrors(t *testing.T) {
	_, err := Unmarshal([]byte(`{"apiVersion": "wasmesh.io/v1alpha1", "kind": "Service", "metadata": {"name": "x"},
	  "spec": {"port": "80", "colour": 1, "versions": [{"name": "v1", "endpoints": "h:1"}]}}`))
	require.EqualError(t, err, `spec.port: expected an integer from 0 to 4294967295, got "80"`+"\n"+
		`spec.colour: unknown field (known: port, versions, defaultVersion, trafficPolicy)`+"\n"+
		`spec.versions[0].endpoints: expected a list, got "h:1"`)
	var fe *FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "spec.port", fe.Path)

	_, err = Unmarshal([]byte(`{"apiVersion": "v1", "kind": "Service"}`))
	require.EqualError(t, err, `decode resource: apiVersion "v1" is not "wasmesh.io/v1alpha1"`)
	_, err = Unmarshal([]byte(`{"apiVersion": `))
	require.EqualError(t, err, `decode resource: invalid YAML: did not find expected node content`)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "syntax error",
			yaml: "apiVersion: [\n",
			want: []string{`t.yaml:1: document 1: invalid YAML: did not find expected node content`},
		},
		{
			// yaml.v3 names the line before: its parser counts lines from 0 for this problem.
			name: "indentation error on line 5",
			yaml: head + "kind: Service\nmetadata:\n  name: x\n spec: {}\n",
			want: []string{`t.yaml:5: document 1: invalid YAML: did not find expected key`},
		},
		{
			// and names where the enclosing block starts when that is not the first line.
			name: "indentation error in a nested block of the second document",
			yaml: svcReviews + "---\n" + head + "kind: Service\nmetadata: {name: ratings}\nspec:\n  versions:\n    - v1\n    port: 1\n",
			want: []string{`t.yaml:16: document 2: invalid YAML: did not find expected '-' indicator`},
		},
		{
			name: "not a mapping",
			yaml: "- a\n",
			want: []string{`t.yaml:1: document 1: expected a resource (a mapping with apiVersion, kind, metadata, spec), got a list`},
		},
		{
			name: "missing apiVersion and unknown kind",
			yaml: "kind: Gateway\nmetadata: {name: x}\n",
			want: []string{
				`t.yaml:1: document 1: apiVersion: required (wasmesh.io/v1alpha1)`,
				`t.yaml:1: document 1: kind: unknown kind "Gateway" (known: Service, TrafficRoute, FaultInjection, Telemetry, WasmPlugin, TransportPolicy, AuthorizationPolicy)`,
			},
		},
		{
			name: "wrong apiVersion",
			yaml: "apiVersion: v1\nkind: Service\n",
			want: []string{`t.yaml:1: document 1: apiVersion: "v1" is not wasmesh.io/v1alpha1`},
		},
		{
			name: "every problem of the second document, with lines",
			yaml: svcReviews + "---\n" + head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split:
    weights: {v1: 90, v2: "ten"}
    stiky: {header: x-user}
  timeout: 2x
  retries: {attempts: -1, retryOn: [5xx, teapot]}
`,
			want: []string{
				`t.yaml:16: document 2 (TrafficRoute "reviews"): spec.split.weights.v2: expected an integer, got "ten"`,
				`t.yaml:17: document 2 (TrafficRoute "reviews"): spec.split.stiky: unknown field (did you mean "sticky"?)`,
				`t.yaml:18: document 2 (TrafficRoute "reviews"): spec.timeout: invalid duration "2x" (use a number and a unit: ms, s, m, h)`,
				`t.yaml:19: document 2 (TrafficRoute "reviews"): spec.retries.attempts: must not be negative, got -1`,
				`t.yaml:19: document 2 (TrafficRoute "reviews"): spec.retries.retryOn[1]: unknown condition "teapot" (known: 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, http3-post-connect-failure)`,
			},
		},
		{
			name: "service structure",
			yaml: head + `kind: Service
metadata: {name: Reviews}
spec:
  port: 70000
  versions:
  - {name: v1, endpoints: ["127.0.0.1"]}
  - {name: v1, endpoints: []}
  defaultVersion: v9
  extra: 1
`,
			want: []string{
				`t.yaml:3: document 1 (Service "Reviews"): metadata.name: "Reviews" must consist of lowercase letters, digits and '-', and start and end with a letter or digit`,
				`t.yaml:5: document 1 (Service "Reviews"): spec.port: must be between 1 and 65535, got 70000`,
				`t.yaml:7: document 1 (Service "Reviews"): spec.versions[0].endpoints[0]: "127.0.0.1" is not host:port`,
				`t.yaml:8: document 1 (Service "Reviews"): spec.versions[1].name: version "v1" is defined twice`,
				`t.yaml:8: document 1 (Service "Reviews"): spec.versions[1].endpoints: at least one endpoint (host:port) is required`,
				`t.yaml:9: document 1 (Service "Reviews"): spec.defaultVersion: version "v9" is not in spec.versions`,
				`t.yaml:10: document 1 (Service "Reviews"): spec.extra: unknown field (known: port, versions, defaultVersion, trafficPolicy)`,
			},
		},
		{
			name: "traffic policy",
			yaml: head + `kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  versions: [{name: v1, endpoints: ["127.0.0.1:1"]}]
  trafficPolicy:
    failover: {enabled: maybe}
    connectionPool: {maxConnections: 0, maxPendingRequests: 1}
    outlierDetection: {enabled: false, consecutive5xx: 3, maxEjectionPercent: 101}
    healthCheck: {path: healthz, interval: 1s, timeout: 2s, unhealthyThreshold: 0}
---
` + head + `kind: Service
metadata: {name: ratings}
spec:
  port: 9080
  versions: [{name: v1, endpoints: ["127.0.0.1:2"]}]
  trafficPolicy:
    connectionPool: {}
    outlierDetection: {interval: 0s, baseEjectionTime: -1s, consecutiveGatewayErrors: 0}
    healthCheck: {interval: 2s}
---
` + head + `kind: Service
metadata: {name: details}
spec:
  port: 9080
  versions: [{name: v1, endpoints: ["127.0.0.1:3"]}]
  trafficPolicy: {}
`,
			want: []string{
				`t.yaml:8: document 1 (Service "reviews"): spec.trafficPolicy.failover.enabled: expected true or false, got "maybe"`,
				`t.yaml:9: document 1 (Service "reviews"): spec.trafficPolicy.connectionPool.maxConnections: must be at least 1 (leave it out for the default)`,
				`t.yaml:10: document 1 (Service "reviews"): spec.trafficPolicy.outlierDetection: enabled is false: remove the other fields, or enable it`,
				`t.yaml:10: document 1 (Service "reviews"): spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be between 1 and 100, got 101`,
				`t.yaml:11: document 1 (Service "reviews"): spec.trafficPolicy.healthCheck.path: must start with /, got "healthz"`,
				`t.yaml:11: document 1 (Service "reviews"): spec.trafficPolicy.healthCheck.unhealthyThreshold: must be at least 1 (leave it out for the default)`,
				`t.yaml:11: document 1 (Service "reviews"): spec.trafficPolicy.healthCheck.timeout: must not be longer than the interval (1s)`,
				`t.yaml:20: document 2 (Service "ratings"): spec.trafficPolicy.connectionPool: at least one of maxConnections, maxPendingRequests, maxRequests, maxRetries is required`,
				`t.yaml:21: document 2 (Service "ratings"): spec.trafficPolicy.outlierDetection.consecutiveGatewayErrors: must be at least 1 (leave it out for the default)`,
				`t.yaml:21: document 2 (Service "ratings"): spec.trafficPolicy.outlierDetection.interval: must be a positive duration such as "5s"`,
				`t.yaml:21: document 2 (Service "ratings"): spec.trafficPolicy.outlierDetection.baseEjectionTime: must be a positive duration such as "5s"`,
				`t.yaml:22: document 2 (Service "ratings"): spec.trafficPolicy.healthCheck.path: required (for example /healthz)`,
				`t.yaml:30: document 3 (Service "details"): spec.trafficPolicy: at least one of failover, connectionPool, outlierDetection, healthCheck is required`,
			},
		},
		{
			name: "retries and mirror",
			yaml: svcReviews + "---\n" + head + `kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  retries: {attempts: 0, retryOn: [5xx]}
  mirror: {version: "", percentage: 0}
---
` + head + `kind: TrafficRoute
metadata: {name: ratings}
spec:
  service: ratings
  retries: {attempts: 11}
  mirror: {version: v2, percentage: 100.5}
`,
			want: []string{
				`t.yaml:15: document 2 (TrafficRoute "reviews"): spec.retries: attempts 0 turns retries off: remove perTryTimeout and retryOn, or set attempts`,
				`t.yaml:16: document 2 (TrafficRoute "reviews"): spec.mirror.version: required`,
				`t.yaml:16: document 2 (TrafficRoute "reviews"): spec.mirror.percentage: must be more than 0 and at most 100, got 0`,
				`t.yaml:23: document 3 (TrafficRoute "ratings"): spec.retries.attempts: must be at most 10, got 11`,
				`t.yaml:24: document 3 (TrafficRoute "ratings"): spec.mirror.percentage: must be more than 0 and at most 100, got 100.5`,
			},
		},
		{
			name: "match and rules",
			yaml: head + `kind: TrafficRoute
metadata: {name: r}
spec:
  service: reviews
  rules:
  - name: a
    match:
      path: {prefix: api, exact: /x}
      method: get
      headers: [{name: X-User, exact: a, present: true}, {name: x, regex: "(a"}]
    requestHeaders: {add: {x-wasmesh-cluster: "reviews|v2"}}
  - name: a
    rewrite: {pathPrefix: v2}
  split:
    weights: {v1: 50, v2: 40}
    overrides: [{match: {}, version: v2}]
    sticky: {header: x-user, cookie: user}
`,
			want: []string{
				`t.yaml:9: document 1 (TrafficRoute "r"): spec.rules[0].match.path.prefix: must start with /, got "api"`,
				`t.yaml:9: document 1 (TrafficRoute "r"): spec.rules[0].match.path: want exactly one of exact, prefix, regex`,
				`t.yaml:10: document 1 (TrafficRoute "r"): spec.rules[0].match.method: want an uppercase HTTP method such as GET, got "get"`,
				`t.yaml:11: document 1 (TrafficRoute "r"): spec.rules[0].match.headers[0].name: header name "X-User" must be lowercase`,
				`t.yaml:11: document 1 (TrafficRoute "r"): spec.rules[0].match.headers[0]: want exactly one of exact, prefix, regex, present, absent`,
				`t.yaml:11: document 1 (TrafficRoute "r"): spec.rules[0].match.headers[1].regex: invalid regex "(a": missing closing )`,
				`t.yaml:12: document 1 (TrafficRoute "r"): spec.rules[0].requestHeaders.add.x-wasmesh-cluster: x-wasmesh-cluster is set by destination, not by header edits`,
				`t.yaml:13: document 1 (TrafficRoute "r"): spec.rules[1].name: rule "a" is defined twice`,
				`t.yaml:14: document 1 (TrafficRoute "r"): spec.rules[1].rewrite.pathPrefix: must start with /, got "v2"`,
				`t.yaml:16: document 1 (TrafficRoute "r"): spec.split.weights: weights sum to 90, want 100`,
				`t.yaml:17: document 1 (TrafficRoute "r"): spec.split.overrides[0].match: required (an empty match would send every request to "v2")`,
				`t.yaml:18: document 1 (TrafficRoute "r"): spec.split.sticky: want exactly one of header, cookie`,
			},
		},
		{
			name: "fault",
			yaml: head + `kind: FaultInjection
metadata: {name: f}
spec:
  service: ratings
  rules:
  - name: x
  - name: y
    delay: {fixed: 0s, percentage: 101}
    abort: {httpStatus: 99, grpcStatus: 17, percentage: -1}
  - name: z
    delay: {fixed: 300ms}
    abort: {httpStatus: 503}
  triggerHeader: {name: "X Fault"}
`,
			want: []string{
				`t.yaml:7: document 1 (FaultInjection "f"): spec.rules[0]: want delay, abort or both`,
				`t.yaml:9: document 1 (FaultInjection "f"): spec.rules[1].delay.fixed: want a duration above 0 and at most 1h0m0s, got 0s`,
				`t.yaml:9: document 1 (FaultInjection "f"): spec.rules[1].delay.percentage: want a percentage 0..100, got 101`,
				`t.yaml:10: document 1 (FaultInjection "f"): spec.rules[1].abort.httpStatus: want an HTTP status 200..599, got 99`,
				`t.yaml:10: document 1 (FaultInjection "f"): spec.rules[1].abort.grpcStatus: want a gRPC status 0..16, got 17`,
				`t.yaml:10: document 1 (FaultInjection "f"): spec.rules[1].abort.percentage: want a percentage 0..100, got -1`,
				`t.yaml:12: document 1 (FaultInjection "f"): spec.rules[2].delay.percentage: required (the share of matching requests to delay, 0 to 100)`,
				`t.yaml:13: document 1 (FaultInjection "f"): spec.rules[2].abort.percentage: required (the share of matching requests to abort, 0 to 100)`,
				`t.yaml:14: document 1 (FaultInjection "f"): spec.triggerHeader.name: header name "X Fault" must be lowercase`,
			},
		},
		{
			name: "telemetry",
			yaml: head + `kind: Telemetry
metadata: {name: t}
spec:
  services: [reviews, reviews]
  metrics: {dimensions: [method, colour]}
  accessLog: {enabled: yes, sampling: 150}
`,
			want: []string{
				`t.yaml:5: document 1 (Telemetry "t"): spec.services[1]: service "reviews" is listed twice`,
				`t.yaml:6: document 1 (Telemetry "t"): spec.metrics.dimensions[1]: unknown dimension "colour" (known: source_service, source_version, destination_service, destination_version, route, method, response_code_class)`,
				`t.yaml:7: document 1 (Telemetry "t"): spec.accessLog.enabled: expected true or false, got "yes"`,
				`t.yaml:7: document 1 (Telemetry "t"): spec.accessLog.sampling: want a percentage 0..100, got 150`,
			},
		},
		{
			name: "telemetry tracing provider",
			yaml: head + `kind: Telemetry
metadata: {name: t}
spec:
  services: [reviews]
  tracing:
    sampling: 101
    provider:
      zipkin: {collector: "collector", path: "api/v2/spans"}
      opentelemetry: {collector: "otel:0"}
`,
			want: []string{
				`t.yaml:7: document 1 (Telemetry "t"): spec.tracing.sampling: must be between 0 and 100, got 101`,
				`t.yaml:8: document 1 (Telemetry "t"): spec.tracing.provider: only a Telemetry for every Service (without spec.services) may set a provider: Envoy's tracer belongs to the sidecar, not to a Service`,
				`t.yaml:8: document 1 (Telemetry "t"): spec.tracing.provider: zipkin and opentelemetry are exclusive (Envoy runs one tracer per listener)`,
				`t.yaml:9: document 1 (Telemetry "t"): spec.tracing.provider.zipkin.collector: "collector" is not host:port`,
				`t.yaml:9: document 1 (Telemetry "t"): spec.tracing.provider.zipkin.path: "api/v2/spans" must be a path starting with / (default /api/v2/spans)`,
				`t.yaml:10: document 1 (Telemetry "t"): spec.tracing.provider.opentelemetry.collector: "otel:0": port must be between 1 and 65535`,
			},
		},
		{
			name: "telemetry tracing sampling without provider",
			yaml: head + `kind: Telemetry
metadata: {name: t}
spec:
  tracing: {sampling: 5, provider: {}}
---
` + head + `kind: Telemetry
metadata: {name: u}
spec:
  tracing: {sampling: 5}
`,
			want: []string{
				`t.yaml:5: document 1 (Telemetry "t"): spec.tracing.provider: one of zipkin, opentelemetry is required`,
				`t.yaml:11: document 2 (Telemetry "u"): spec.tracing.sampling: is the sampling of the provider's tracer: set spec.tracing.provider too`,
			},
		},
		{
			name: "telemetry tracing collector misplaced",
			yaml: head + `kind: Telemetry
metadata: {name: t}
spec:
  tracing:
    sampling: 10
    provider: {zipkin: {}}
    collector: x
`,
			want: []string{
				`t.yaml:7: document 1 (Telemetry "t"): spec.tracing.provider.zipkin.collector: required: the collector's host:port (the control plane's HTTP address keeps traces for its UI)`,
				`t.yaml:8: document 1 (Telemetry "t"): spec.tracing.collector: unknown field (known: propagate, startWhenAbsent, provider, sampling)`,
			},
		},
		{
			name: "wasm plugin",
			yaml: head + `kind: WasmPlugin
metadata: {name: p}
spec:
  module: {url: "ftp://x/y.wasm", sha256: ABC}
  phase: middle
  priority: 1.5
  config: {a: .inf}
`,
			want: []string{
				`t.yaml:5: document 1 (WasmPlugin "p"): spec.module.url: "ftp://x/y.wasm" must be an http:// or https:// URL`,
				`t.yaml:5: document 1 (WasmPlugin "p"): spec.module.sha256: "ABC" is not a SHA-256 (64 lowercase hex digits)`,
				`t.yaml:6: document 1 (WasmPlugin "p"): spec.phase: "middle" must be "before" or "after"`,
				`t.yaml:7: document 1 (WasmPlugin "p"): spec.priority: expected an integer, got 1.5`,
				`t.yaml:8: document 1 (WasmPlugin "p"): spec.config: line 8: .inf has no JSON representation`,
			},
		},
		{
			name: "alias bomb",
			yaml: head + `kind: WasmPlugin
metadata: {name: p}
spec:
  module: {sha256: ` + strings.Repeat("a", 64) + `}
  config:
    a: &a [x, x, x, x, x, x, x, x, x, x]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
`,
			want: []string{`t.yaml:6: document 1 (WasmPlugin "p"): spec.config: the document expands to more than 100000 YAML nodes (aliases included)`},
		},
		{
			// The duration histogram's buckets are Envoy's (bootstrap), not the Telemetry's.
			name: "durationBuckets is not a field",
			yaml: head + "kind: Telemetry\nmetadata: {name: t}\nspec:\n  metrics: {durationBuckets: [1, 5, 10]}\n",
			want: []string{`t.yaml:5: document 1 (Telemetry "t"): spec.metrics.durationBuckets: unknown field (known: enabled, dimensions)`},
		},
		{
			name: "a misspelled required field is reported once",
			yaml: head + "kind: FaultInjection\nmetadata: {name: f}\nspec: {servce: ratings, triggerHeader: {enabled: true}}\n",
			want: []string{`t.yaml:4: document 1 (FaultInjection "f"): spec.servce: unknown field (did you mean "service"?)`},
		},
		{
			name: "string fields refuse other scalars; duplicates",
			yaml: head + `kind: Service
metadata: {name: s, name: t}
spec:
  port: 80
  versions: [{name: 1, endpoints: ["a:1"]}]
`,
			want: []string{
				`t.yaml:3: document 1 (Service "s"): metadata.name: duplicate field`,
				`t.yaml:6: document 1 (Service "s"): spec.versions[0].name: expected a string, got 1 (quote it: "1")`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := Decode("t.yaml", []byte(tt.yaml))
			require.Error(t, err)
			require.Nil(t, docs)
			require.Equal(t, tt.want, strings.Split(err.Error(), "\n"))
		})
	}
}

func TestDecodeIgnoresServerFieldsAndEmptyDocuments(t *testing.T) {
	y := "---\n" + svcReviews + `  defaultVersion: v2
status: {observedGeneration: 3}
---
---
` + strings.Replace(svcReviews, "metadata: {name: reviews}", "metadata:\n  name: ratings\n  generation: 7\n  resourceVersion: 12\n  creationTimestamp: 2026-01-02T03:04:05Z", 1)
	docs, err := Decode("t.yaml", []byte(y))
	require.NoError(t, err)
	require.Len(t, docs, 2)
	require.Equal(t, 2, docs[1].Index)
	require.Equal(t, Status{}, *docs[0].Object.GetStatus())
	require.Equal(t, ObjectMeta{Name: "ratings"}, *docs[1].Object.Meta())

	// As Kubernetes writes them: resourceVersion is a string there, generation may be too.
	y = strings.Replace(svcReviews, "metadata: {name: reviews}", "metadata:\n  name: ratings\n  generation: \"7\"\n  resourceVersion: \"42\"\n  creationTimestamp: \"2026-01-02T03:04:05Z\"", 1)
	docs, err = Decode("k.yaml", []byte(y))
	require.NoError(t, err)
	require.Equal(t, ObjectMeta{Name: "ratings"}, *docs[0].Object.Meta())
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(svcReviews), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yml"), []byte(strings.Replace(svcReviews, "reviews", "ratings", 1)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not yaml"), 0o644))

	docs, err := ReadPaths(nil, dir)
	require.NoError(t, err)
	require.Len(t, docs, 2)
	require.Equal(t, filepath.Join(dir, "a.yaml"), docs[0].Source)

	docs, err = ReadPaths(strings.NewReader(svcReviews), "-")
	require.NoError(t, err)
	require.Equal(t, StdinSource, docs[0].Source)

	_, err = ReadPaths(strings.NewReader(svcReviews), filepath.Join(dir, "a.yaml"), "-")
	require.EqualError(t, err, `<stdin>:3: document 1 (Service "reviews"): metadata.name: Service "reviews" is also defined in `+filepath.Join(dir, "a.yaml")+` document 1 (Service "reviews")`)

	_, err = ReadPaths(nil, filepath.Join(dir, "missing.yaml"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestCheckDelete(t *testing.T) {
	docs, err := Decode("x.yaml", []byte(svcReviews+"---\n"+head+"kind: FaultInjection\nmetadata: {name: f}\nspec: {service: reviews, triggerHeader: {enabled: true}}\n---\n"+head+"kind: WasmPlugin\nmetadata: {name: p}\nspec: {module: {sha256: "+strings.Repeat("a", 64)+"}, selector: {services: [reviews]}}\n"))
	require.NoError(t, err)
	var objs []Object
	for _, d := range docs {
		objs = append(objs, d.Object)
	}
	set := NewSet(objs...)
	err = CheckDelete(set, Key{Kind: KindService, Namespace: "default", Name: "reviews"})
	require.ErrorIs(t, err, ErrInUse)
	require.EqualError(t, err, `Service "reviews" is still referenced by FaultInjection "f", WasmPlugin "p"; delete or change them first`)
	require.NoError(t, CheckDelete(set, Key{Kind: KindFaultInjection, Namespace: "default", Name: "f"}))
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"svc": KindService, "Services": KindService, "trafficroute": KindTrafficRoute, "tr": KindTrafficRoute, "fi": KindFaultInjection, "telemetries": KindTelemetry, "WasmPlugin": KindWasmPlugin, "wp": KindWasmPlugin} {
		got, err := ParseKind(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := ParseKind("pods")
	require.EqualError(t, err, `unknown kind "pods" (known: Service, TrafficRoute, FaultInjection, Telemetry, WasmPlugin, TransportPolicy, AuthorizationPolicy)`)
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"testdata/valid.yaml", "testdata/invalid.yaml", "testdata/security.yaml"} {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(svcReviews))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Decode("fuzz.yaml", data)
		if err != nil {
			require.Nil(t, docs)
			return
		}
		for _, d := range docs {
			// A decoded resource is structurally valid and survives the JSON round trip.
			require.Empty(t, Validate(d.Object))
			b, err := json.Marshal(d.Object)
			require.NoError(t, err)
			o, err := Unmarshal(b)
			require.NoError(t, err)
			b2, err := json.Marshal(o)
			require.NoError(t, err)
			require.Equal(t, string(b), string(b2))
			// The strict walker reads it as encoding/json does, and so does the server.
			strict, err := unmarshalStrict(b)
			require.NoError(t, err)
			require.Equal(t, o, strict)
			sd, err := DecodeObject(Document{Source: "fuzz.yaml", Index: d.Index, Line: d.Line, Lines: d.Lines}, b)
			require.NoError(t, err)
			require.Equal(t, d.Object, sd.Object)
		}
	})
}

func TestDefaults(t *testing.T) {
	off, on := false, true
	var nilMetrics *Metrics
	require.False(t, nilMetrics.IsEnabled())
	require.True(t, (&Metrics{}).IsEnabled())
	require.False(t, (&Metrics{Enabled: &off}).IsEnabled())
	var nilLog *AccessLog
	require.False(t, nilLog.IsEnabled())
	require.True(t, (&AccessLog{}).IsEnabled())
	require.Equal(t, 100.0, (&AccessLog{}).SamplingPercent())
	var nilTracing *Tracing
	require.True(t, nilTracing.Propagates())
	require.False(t, (&Tracing{Propagate: &off}).Propagates())
	name, enabled := (&FaultInjectionSpec{}).Trigger()
	require.Equal(t, "x-wasmesh-fault", name)
	require.False(t, enabled, "the trigger header is off unless enabled")
	_, enabled = (&FaultInjectionSpec{TriggerHeader: &TriggerHeader{}}).Trigger()
	require.False(t, enabled, "the trigger header is off unless enabled")
	name, enabled = (&FaultInjectionSpec{TriggerHeader: &TriggerHeader{Enabled: &on, Name: "x-f"}}).Trigger()
	require.Equal(t, "x-f", name)
	require.True(t, enabled)
	require.Equal(t, PhaseAfter, (&WasmPluginSpec{}).EffectivePhase())
}

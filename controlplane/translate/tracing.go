package translate

import (
	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// ClusterTracing is the cluster of the trace collector a Telemetry's tracing provider names.
const ClusterTracing = "wasmesh|tracing"

// tracer is Envoy's native tracer for every sidecar's listeners, from the Telemetry for
// every Service that sets spec.tracing.provider.
type tracer struct {
	source  *crd.Telemetry
	cluster *cluster.Cluster
	zipkin  *tracev3.Tracing_Http // the Zipkin provider, the same for every node (nil: OpenTelemetry)
	otel    bool
	percent float64
}

// tracerOf finds the tracing provider (validation allows one per namespace, on a Telemetry
// without spec.services; with several namespaces the first in key order, the Set's order,
// wins). nil: none.
func tracerOf(set *crd.Set) *tracer {
	for _, t := range set.Telemetries {
		tr := t.Spec.Tracing
		if tr == nil || tr.Provider == nil || len(t.Spec.Services) > 0 {
			continue
		}
		out := &tracer{source: t, percent: tr.SamplingPercent()}
		switch p := tr.Provider; {
		case p.Zipkin != nil:
			out.cluster = staticCluster(ClusterTracing, []string{p.Zipkin.Collector})
			out.zipkin = zipkinProvider(&tracev3.ZipkinConfig{
				CollectorCluster:         ClusterTracing,
				CollectorEndpoint:        p.Zipkin.ZipkinPath(),
				CollectorEndpointVersion: tracev3.ZipkinConfig_HTTP_JSON,
				CollectorHostname:        p.Zipkin.Collector,
				TraceId_128Bit:           true,
				// A server span is the child of its caller's client span (not the same span).
				SharedSpanContext: wrapperspb.Bool(false),
				// Continue a W3C traceparent (what the telemetry filter and apps carry) when a
				// request has no B3 headers, and send both onwards.
				TraceContextOption: tracev3.ZipkinConfig_USE_B3_WITH_W3C_PROPAGATION,
			})
		case p.OpenTelemetry != nil:
			out.cluster = staticCluster(ClusterTracing, []string{p.OpenTelemetry.Collector})
			out.cluster.TypedExtensionProtocolOptions = map[string]*anypb.Any{
				"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": mustAny(&httpv3.HttpProtocolOptions{
					UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
						ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &core.Http2ProtocolOptions{}},
					}},
				}),
			}
			out.otel = true
		default:
			continue
		}
		return out
	}
	return nil
}

func zipkinProvider(cfg *tracev3.ZipkinConfig) *tracev3.Tracing_Http {
	return &tracev3.Tracing_Http{Name: "envoy.tracers.zipkin", ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: mustAny(cfg)}}
}

// hcmTracing is the connection manager's tracing for one node (the OpenTelemetry service
// name is the node's Service; Zipkin takes Envoy's node cluster, which the bootstrap sets to
// the Service). Both listeners of the node take the same value; it is never modified (the
// listeners marshal it).
func (t *tracer) hcmTracing(n Node) *hcm.HttpConnectionManager_Tracing {
	if t == nil {
		return nil
	}
	var provider *tracev3.Tracing_Http
	if t.otel {
		provider = &tracev3.Tracing_Http{Name: "envoy.tracers.opentelemetry", ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: mustAny(&tracev3.OpenTelemetryConfig{
			GrpcService: &core.GrpcService{TargetSpecifier: &core.GrpcService_EnvoyGrpc_{EnvoyGrpc: &core.GrpcService_EnvoyGrpc{ClusterName: ClusterTracing}}},
			ServiceName: n.Service,
		})}}
	} else {
		provider = t.zipkin
	}
	return &hcm.HttpConnectionManager_Tracing{
		Provider:       provider,
		RandomSampling: &typev3.Percent{Value: t.percent},
	}
}

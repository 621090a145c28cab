package translate

import (
	"cmp"
	"math"
	"strings"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	aggregatev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/clusters/aggregate/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	previousprioritiesv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/priority/previous_priorities/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// Cluster names of a Service version (docs/conventions.md).
//
// VersionCluster `<service>|<version>` is what the routing header names: an aggregate cluster
// whose first member is the version's own EndpointsCluster and, with failover, the other
// versions' in the Service's order after it. EndpointsCluster
// `<service>|<version>|endpoints` holds the version's endpoints (EDS), its circuit breakers,
// outlier detection and health checks.
func VersionCluster(service, version string) string { return service + "|" + version }

// EndpointsCluster returns the name of the cluster holding a version's endpoints.
func EndpointsCluster(service, version string) string {
	return service + "|" + version + EndpointsSuffix
}

// EndpointsSuffix ends the name of every version's endpoints cluster.
const EndpointsSuffix = "|endpoints"

// overprovisioning is the overprovisioning factor of every version's endpoints (in percent;
// Envoy's default is 140): so large that one healthy endpoint keeps the whole version's load.
const overprovisioning = 100000

// Envoy extension names the resilience policy uses.
const (
	aggregateClusterType = "envoy.clusters.aggregate"
	previousHosts        = "envoy.retry_host_predicates.previous_hosts"
	previousPriorities   = "envoy.retry_priorities.previous_priorities"
)

// versionClusters returns a Service's clusters: for each version its endpoints cluster (and
// EDS resource, when the endpoints are IPs) and its aggregate cluster.
func versionClusters(s *crd.Service) ([]*cluster.Cluster, []*endpoint.ClusterLoadAssignment) {
	name := s.Metadata.Name
	pol := s.Spec.TrafficPolicy
	var clusters []*cluster.Cluster
	var clas []*endpoint.ClusterLoadAssignment
	for _, v := range s.Spec.Versions {
		c, cla := versionCluster(EndpointsCluster(name, v.Name), v.Endpoints)
		endpointsPolicy(c, name, pol)
		// Failover only when the version has no healthy endpoint: a version with any
		// healthy endpoint keeps all its traffic (Envoy spills a share of it to the next
		// priority, here the next version, below 1/1.4 healthy by default).
		if a := cmp.Or(cla, c.LoadAssignment); a != nil {
			a.Policy = &endpoint.ClusterLoadAssignment_Policy{OverprovisioningFactor: wrapperspb.UInt32(overprovisioning)}
		}
		clusters = append(clusters, c)
		if cla != nil {
			clas = append(clas, cla)
		}
		members := []string{c.Name}
		if pol.FailoverEnabled() {
			for _, o := range s.Spec.Versions {
				if o.Name != v.Name {
					members = append(members, EndpointsCluster(name, o.Name))
				}
			}
		}
		clusters = append(clusters, aggregateCluster(VersionCluster(name, v.Name), members, pol))
	}
	return clusters, clas
}

func aggregateCluster(name string, members []string, pol *crd.TrafficPolicy) *cluster.Cluster {
	return &cluster.Cluster{
		Name:           name,
		ConnectTimeout: durationpb.New(time.Second),
		LbPolicy:       cluster.Cluster_CLUSTER_PROVIDED,
		ClusterDiscoveryType: &cluster.Cluster_ClusterType{ClusterType: &cluster.Cluster_CustomClusterType{
			Name:        aggregateClusterType,
			TypedConfig: mustAny(&aggregatev3.ClusterConfig{Clusters: members}),
		}},
		// The route's cluster is the aggregate: Envoy's router counts retries against its
		// circuit breaker.
		CircuitBreakers: &cluster.CircuitBreakers{Thresholds: []*cluster.CircuitBreakers_Thresholds{retryThreshold(pol)}},
	}
}

// retryThreshold caps concurrent retries: maxRetries when given, else a retry budget.
func retryThreshold(pol *crd.TrafficPolicy) *cluster.CircuitBreakers_Thresholds {
	t := &cluster.CircuitBreakers_Thresholds{}
	if pol != nil && pol.ConnectionPool != nil && pol.ConnectionPool.MaxRetries != nil {
		t.MaxRetries = wrapperspb.UInt32(*pol.ConnectionPool.MaxRetries)
		return t
	}
	t.RetryBudget = &cluster.CircuitBreakers_Thresholds_RetryBudget{
		BudgetPercent:       &typev3.Percent{Value: crd.DefaultRetryBudgetPercent},
		MinRetryConcurrency: wrapperspb.UInt32(crd.DefaultRetryMinConcurrency),
	}
	return t
}

// endpointsPolicy sets a version's endpoints cluster's circuit breakers, outlier detection and
// health checks from the Service's policy.
func endpointsPolicy(c *cluster.Cluster, service string, pol *crd.TrafficPolicy) {
	if pol != nil && pol.ConnectionPool != nil {
		cp := pol.ConnectionPool
		t := &cluster.CircuitBreakers_Thresholds{}
		u32 := func(p *uint32) *wrapperspb.UInt32Value {
			if p == nil {
				return nil
			}
			return wrapperspb.UInt32(*p)
		}
		t.MaxConnections = u32(cp.MaxConnections)
		t.MaxPendingRequests = u32(cp.MaxPendingRequests)
		t.MaxRequests = u32(cp.MaxRequests)
		t.MaxRetries = u32(cp.MaxRetries)
		c.CircuitBreakers = &cluster.CircuitBreakers{Thresholds: []*cluster.CircuitBreakers_Thresholds{t}}
	}
	if o, ok := pol.Outlier(); ok {
		od := &cluster.OutlierDetection{
			Consecutive_5Xx:          wrapperspb.UInt32(o.Consecutive5xx),
			EnforcingConsecutive_5Xx: wrapperspb.UInt32(100),
			Interval:                 durationpb.New(o.Interval),
			BaseEjectionTime:         durationpb.New(o.BaseEjectionTime),
			MaxEjectionPercent:       wrapperspb.UInt32(o.MaxEjectionPercent),
			AlwaysEjectOneHost:       wrapperspb.Bool(true),
			// Success-rate detection needs more traffic than a sidecar sees; off.
			EnforcingSuccessRate: wrapperspb.UInt32(0),
		}
		if o.ConsecutiveGatewayErrors > 0 {
			od.ConsecutiveGatewayFailure = wrapperspb.UInt32(o.ConsecutiveGatewayErrors)
			od.EnforcingConsecutiveGatewayFailure = wrapperspb.UInt32(100)
		}
		if _, hc := pol.Health(); hc {
			od.SuccessfulActiveHealthCheckUnejectHost = wrapperspb.Bool(true)
		}
		c.OutlierDetection = od
	}
	if h, ok := pol.Health(); ok {
		c.HealthChecks = []*core.HealthCheck{{
			Timeout:  durationpb.New(h.Timeout),
			Interval: durationpb.New(h.Interval),
			// A sidecar calls a Service now and then: check at the interval all the same
			// (Envoy's default for a cluster without traffic is 60s).
			NoTrafficInterval:  durationpb.New(h.Interval),
			HealthyThreshold:   wrapperspb.UInt32(h.HealthyThreshold),
			UnhealthyThreshold: wrapperspb.UInt32(h.UnhealthyThreshold),
			HealthChecker: &core.HealthCheck_HttpHealthCheck_{HttpHealthCheck: &core.HealthCheck_HttpHealthCheck{
				// The endpoint is the version's inbound sidecar, which serves any authority;
				// the cluster name is no valid one.
				Host: service,
				Path: h.Path,
			}},
		}}
	}
}

// retryPolicy returns the Envoy retry policy for conditions on, or nil when retries are off.
// Retries go to another endpoint (previous_hosts) and, with failover, to the next version
// once the chosen one failed (previous_priorities over the aggregate's members).
func retryPolicy(p crd.RetryPolicy, on []string, codes []uint32, failover bool) *route.RetryPolicy {
	if p.Attempts == 0 || len(on) == 0 {
		return nil
	}
	rp := &route.RetryPolicy{
		RetryOn:                       strings.Join(on, ","),
		NumRetries:                    wrapperspb.UInt32(p.Attempts),
		RetriableStatusCodes:          codes,
		HostSelectionRetryMaxAttempts: crd.DefaultHostSelectionRetries,
		RetryHostPredicate: []*route.RetryPolicy_RetryHostPredicate{{
			Name:       previousHosts,
			ConfigType: &route.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: mustAny(&previoushostsv3.PreviousHostsPredicate{})},
		}},
	}
	if p.PerTryTimeout > 0 {
		rp.PerTryTimeout = durationpb.New(p.PerTryTimeout)
	}
	if failover {
		rp.RetryPriority = &route.RetryPolicy_RetryPriority{
			Name: previousPriorities,
			ConfigType: &route.RetryPolicy_RetryPriority_TypedConfig{TypedConfig: mustAny(
				&previousprioritiesv3.PreviousPrioritiesConfig{UpdateFrequency: 1})},
		}
	}
	return rp
}

// idempotentMatch matches the methods the mesh's default retries treat as idempotent.
func idempotentMatch() *route.HeaderMatcher {
	return &route.HeaderMatcher{
		Name: ":method",
		HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
			MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{
				Regex: strings.Join(crd.IdempotentMethods(), "|"),
			}},
		}},
	}
}

// mirrorPolicies copies the route's requests to the mirror version's endpoints (no failover:
// a mirror that is down loses copies, never answers).
func mirrorPolicies(service string, m *crd.Mirror) []*route.RouteAction_RequestMirrorPolicy {
	if m == nil {
		return nil
	}
	return []*route.RouteAction_RequestMirrorPolicy{{
		Cluster: EndpointsCluster(service, m.Version),
		RuntimeFraction: &core.RuntimeFractionalPercent{DefaultValue: &typev3.FractionalPercent{
			Numerator:   uint32(math.Round(m.Percentage * 10000)),
			Denominator: typev3.FractionalPercent_MILLION,
		}},
	}}
}

// aggregateMembers returns the member clusters of an aggregate cluster (nil for any other).
func aggregateMembers(c *cluster.Cluster) []string {
	ct := c.GetClusterType()
	if ct.GetName() != aggregateClusterType {
		return nil
	}
	var cfg aggregatev3.ClusterConfig
	if err := ct.GetTypedConfig().UnmarshalTo(&cfg); err != nil {
		return []string{"<unreadable aggregate config: " + err.Error() + ">"}
	}
	return cfg.Clusters
}

package kube

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

func slice(ns, svc, name string, port int32, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4, Endpoints: eps,
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port)}},
	}
}

func endpoint(ip, pod string, ready bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod}}
}

func testInputs(crs map[crd.Kind][]*unstructured.Unstructured) inputs {
	pods := map[string]map[string]string{
		"reviews-1": {VersionLabel: "v1"}, "reviews-2": {VersionLabel: "v2"}, "reviews-3": {VersionLabel: "v2"}, "ratings-1": {},
	}
	slices := []*discoveryv1.EndpointSlice{
		slice("shop", "reviews", "reviews-a", 9080, endpoint("10.0.0.1", "reviews-1", true), endpoint("10.0.0.2", "reviews-2", true),
			endpoint("10.0.0.3", "reviews-3", false)),
		slice("shop", "reviews", "reviews-b", 9080, endpoint("10.0.0.4", "reviews-3", true)),
		slice("shop", "ratings", "ratings-a", 8080, endpoint("10.0.1.1", "ratings-1", true)),
		slice("shop", "empty", "empty-a", 80, endpoint("10.0.2.1", "x", false)),
	}
	svc := func(name string, port int32) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 7000}, {Name: "http", Port: port}}}}
	}
	hidden := svc("wasmesh-xds", 18000)
	hidden.Labels = map[string]string{DiscoverLabel: "false"}
	slices = append(slices, slice("shop", "wasmesh-xds", "xds-a", 18000, endpoint("10.0.3.1", "cp-1", true)))
	return inputs{
		crs:      crs,
		services: []*corev1.Service{svc("reviews", 9080), svc("ratings", 8080), svc("empty", 80), hidden},
		slices: func(ns, s string) []*discoveryv1.EndpointSlice {
			var out []*discoveryv1.EndpointSlice
			for _, es := range slices {
				if es.Namespace == ns && es.Labels[discoveryv1.LabelServiceName] == s {
					out = append(out, es)
				}
			}
			return out
		},
		pod: func(ns, name string) *corev1.Pod {
			l, ok := pods[name]
			if !ok {
				return nil
			}
			return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l}}
		},
	}
}

func cr(kind crd.Kind, name string, generation int64, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": crd.APIVersion, "kind": string(kind),
		"metadata": map[string]any{"name": name, "namespace": "shop", "uid": "x", "resourceVersion": "42",
			"managedFields": []any{map[string]any{"manager": "kubectl"}}},
		"spec": spec,
	}}
	u.SetGeneration(generation)
	return u
}

// Kubernetes Services become wasmesh Services: versions from the pods' version label (else
// "default"), ready endpoints only, at the EndpointSlice's port named like the Service port
// "http"; a Service without a ready endpoint is left out, and so is what refers to it.
func TestAssembleDiscovers(t *testing.T) {
	route := cr(crd.KindTrafficRoute, "reviews", 3, map[string]any{"service": "reviews",
		"split": map[string]any{"weights": map[string]any{"v1": int64(90), "v2": int64(10)}}})
	orphan := cr(crd.KindFaultInjection, "empty", 1, map[string]any{"service": "empty",
		"rules": []any{map[string]any{"name": "slow", "delay": map[string]any{"fixed": "1s", "percentage": int64(10)}}}})
	set, refused := assemble(testInputs(map[crd.Kind][]*unstructured.Unstructured{
		crd.KindTrafficRoute: {route}, crd.KindFaultInjection: {orphan},
	}))
	require.Len(t, set.Services, 2)
	reviews := set.Service("shop", "reviews")
	require.Equal(t, uint32(9080), reviews.Spec.Port)
	require.Equal(t, []crd.ServiceVersion{
		{Name: "v1", Endpoints: []string{"10.0.0.1:9080"}},
		{Name: "v2", Endpoints: []string{"10.0.0.2:9080", "10.0.0.4:9080"}},
	}, reviews.Spec.Versions)
	require.Equal(t, "true", reviews.Metadata.Labels[DiscoveredLabel])
	require.Equal(t, []crd.ServiceVersion{{Name: DefaultVersion, Endpoints: []string{"10.0.1.1:8080"}}}, set.Service("shop", "ratings").Spec.Versions)
	require.Len(t, set.TrafficRoutes, 1)
	require.Equal(t, int64(3), set.TrafficRoutes[0].Metadata.Generation)
	require.Equal(t, uint64(42), set.TrafficRoutes[0].Metadata.ResourceVersion)
	require.Empty(t, set.FaultInjections)
	require.Equal(t, map[crd.Key]string{
		{Kind: crd.KindFaultInjection, Namespace: "shop", Name: "empty"}: `FaultInjection "empty": spec.service: Service "empty" does not exist`,
	}, refused)
}

// A wasmesh Service of the same name replaces the discovered one; a stored resource that does
// not validate is left out with the reason.
func TestAssembleExplicitAndInvalid(t *testing.T) {
	explicit := cr(crd.KindService, "reviews", 1, map[string]any{"port": int64(9080),
		"versions": []any{map[string]any{"name": "blue", "endpoints": []any{"10.9.9.9:9080"}}}})
	bad := cr(crd.KindTrafficRoute, "reviews", 1, map[string]any{"service": "reviews",
		"split": map[string]any{"weights": map[string]any{"blue": int64(50)}}})
	set, refused := assemble(testInputs(map[crd.Kind][]*unstructured.Unstructured{
		crd.KindService: {explicit}, crd.KindTrafficRoute: {bad},
	}))
	require.Equal(t, []string{"blue"}, set.Service("shop", "reviews").VersionNames())
	require.Empty(t, set.TrafficRoutes)
	require.Len(t, refused, 1)
	require.Equal(t, refused[crd.Key{Kind: crd.KindTrafficRoute, Namespace: "shop", Name: "reviews"}], `TrafficRoute "reviews": spec.split.weights: weights sum to 50, want 100`)
}

// Service names are mesh-wide: of two Kubernetes Services with one name in different
// namespaces, one joins the mesh and the other is left out with the reason.
func TestAssembleNameCollision(t *testing.T) {
	in := testInputs(nil)
	other := in.services[1].DeepCopy() // ratings
	other.Namespace = "billing"
	in.services = append(in.services, other)
	slices := in.slices
	in.slices = func(ns, s string) []*discoveryv1.EndpointSlice {
		if ns == "billing" && s == "ratings" {
			return []*discoveryv1.EndpointSlice{slice("billing", "ratings", "ratings-b", 8080, endpoint("10.1.0.1", "x", true))}
		}
		return slices(ns, s)
	}
	set, refused := assemble(in)
	n := 0
	for _, s := range set.Services {
		if s.Metadata.Name == "ratings" {
			n++
		}
	}
	require.Equal(t, 1, n)
	require.Len(t, refused, 1)
	for k, why := range refused {
		require.Equal(t, "ratings", k.Name)
		require.Contains(t, why, "service names are mesh-wide")
	}
}

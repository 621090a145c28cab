package kube

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/ir"
	"github.com/wasmesh/wasmesh/controlplane/translate"
)

// VersionLabel is the pod label a discovered Service's versions come from (as Istio uses
// it); pods without it serve the version DefaultVersion.
const (
	VersionLabel   = "version"
	DefaultVersion = "default"
	// DiscoverLabel "false" on a Kubernetes Service keeps it out of the mesh (the control
	// plane's own Services carry it).
	DiscoverLabel = "wasmesh.io/discover"
)

// SourceConfig configures NewSource.
type SourceConfig struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Namespace limits the source to one namespace ("" = every namespace).
	Namespace string
	// Resync is the informers' resync period (default 0: none, watches only).
	Resync time.Duration
	// EndpointAddress, when set, rewrites every endpoint address read from an EndpointSlice
	// (the addresses the sidecars dial). The tests use it: the API server refuses loopback
	// addresses in EndpointSlices, so the slices name documentation addresses (192.0.2.x)
	// the tests map to 127.0.0.1, where their Envoys listen.
	EndpointAddress func(addr string) string
	Log             *slog.Logger
}

// Source is the control plane's view of the cluster: wasmesh resources from their
// CustomResourceDefinitions, plus a wasmesh Service for every Kubernetes Service with ready
// endpoints, its versions from the pods' VersionLabel (a wasmesh Service resource of the
// same name wins over the discovered one). Every change produces a new Set (Run).
type Source struct {
	cfg      SourceConfig
	dyn      dynamicinformer.DynamicSharedInformerFactory
	core     informers.SharedInformerFactory
	crs      map[crd.Kind]cache.GenericLister
	services listersv1.ServiceLister
	pods     listersv1.PodLister
	slices   discoverylisters.EndpointSliceLister
	synced   []cache.InformerSynced
	changed  chan struct{}
	mu       sync.Mutex
	current  *crd.Set
	revision uint64
	// refused is what the last set left out, and why (Run's goroutine only: a resource
	// is warned about when its reason changes).
	refused map[crd.Key]string
}

// NewSource sets up the informers; Run starts them.
func NewSource(cfg SourceConfig) *Source {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Source{
		cfg:     cfg,
		dyn:     dynamicinformer.NewFilteredDynamicSharedInformerFactory(cfg.Dynamic, cfg.Resync, cfg.Namespace, nil),
		core:    informers.NewSharedInformerFactoryWithOptions(cfg.Kube, cfg.Resync, informers.WithNamespace(cfg.Namespace)),
		crs:     map[crd.Kind]cache.GenericLister{},
		changed: make(chan struct{}, 1),
		current: crd.NewSet(),
		refused: map[crd.Key]string{},
	}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.poke() },
		UpdateFunc: func(any, any) { s.poke() },
		DeleteFunc: func(any) { s.poke() },
	}
	add := func(inf cache.SharedIndexInformer) {
		_, _ = inf.AddEventHandler(notify) // fails only after the informer stopped
		s.synced = append(s.synced, inf.HasSynced)
	}
	// A write of a resource's status alone (the status writer's) changes nothing served.
	specOnly := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { s.poke() },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*unstructured.Unstructured)
			c, ok2 := cur.(*unstructured.Unstructured)
			if ok1 && ok2 && o.GetGeneration() == c.GetGeneration() && maps.Equal(o.GetLabels(), c.GetLabels()) {
				return
			}
			s.poke()
		},
		DeleteFunc: func(any) { s.poke() },
	}
	for _, k := range crd.Kinds() {
		gi := s.dyn.ForResource(GVR(k))
		s.crs[k] = gi.Lister()
		_, _ = gi.Informer().AddEventHandler(specOnly)
		s.synced = append(s.synced, gi.Informer().HasSynced)
	}
	svc := s.core.Core().V1().Services()
	pod := s.core.Core().V1().Pods()
	eps := s.core.Discovery().V1().EndpointSlices()
	s.services, s.pods, s.slices = svc.Lister(), pod.Lister(), eps.Lister()
	add(svc.Informer())
	add(eps.Informer())
	// Only a pod's labels matter (its version); its status changes all the time.
	_, _ = pod.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { s.poke() },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Pod)
			c, ok2 := cur.(*corev1.Pod)
			if ok1 && ok2 && maps.Equal(o.Labels, c.Labels) {
				return
			}
			s.poke()
		},
		DeleteFunc: func(any) { s.poke() },
	})
	s.synced = append(s.synced, pod.Informer().HasSynced)
	return s
}

func (s *Source) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Set returns the resources of the last build (empty before Run has synced).
func (s *Source) Set() *crd.Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Revision returns the number of sets built so far (the revision the xDS server was given).
func (s *Source) Revision() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revision
}

// Run starts the informers, waits for their caches, then calls update with the set and its
// revision after the first sync and after every change (changes arriving together are
// coalesced), until ctx ends.
func (s *Source) Run(ctx context.Context, update func(set *crd.Set, revision uint64)) error {
	s.dyn.Start(ctx.Done())
	s.core.Start(ctx.Done())
	defer s.dyn.Shutdown()
	defer s.core.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return fmt.Errorf("kubernetes source: informer caches not synced: %w", context.Cause(ctx))
	}
	s.poke()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.changed:
		}
		set := s.build()
		s.mu.Lock()
		s.revision++
		rev := s.revision
		s.current = set
		s.mu.Unlock()
		update(set, rev)
	}
}

// inputs are what a set is assembled from: the cache's listers, or fresh lists.
type inputs struct {
	// address rewrites endpoint addresses (SourceConfig.EndpointAddress; nil: as they are).
	address  func(string) string
	crs      map[crd.Kind][]*unstructured.Unstructured
	services []*corev1.Service
	// slices returns a Service's EndpointSlices; pod returns a pod (nil when unknown).
	slices func(namespace, service string) []*discoveryv1.EndpointSlice
	pod    func(namespace, name string) *corev1.Pod
}

// build assembles the set from the informers' caches and records what it left out.
func (s *Source) build() *crd.Set {
	in := inputs{crs: map[crd.Kind][]*unstructured.Unstructured{}, address: s.cfg.EndpointAddress}
	for _, k := range crd.Kinds() {
		items, err := s.crs[k].List(labels.Everything())
		if err != nil {
			s.cfg.Log.Error("list", "kind", k, "err", err)
			continue
		}
		for _, it := range items {
			if u, ok := it.(*unstructured.Unstructured); ok {
				in.crs[k] = append(in.crs[k], u)
			}
		}
	}
	in.services, _ = s.services.List(labels.Everything())
	in.slices = func(ns, svc string) []*discoveryv1.EndpointSlice {
		l, _ := s.slices.EndpointSlices(ns).List(serviceSelector(svc))
		return l
	}
	in.pod = func(ns, name string) *corev1.Pod {
		p, err := s.pods.Pods(ns).Get(name)
		if err != nil {
			return nil
		}
		return p
	}
	set, refused := assemble(in)
	for k, why := range refused {
		if s.refused[k] != why {
			s.cfg.Log.Warn("resource left out of the mesh", "resource", k.String(), "why", why)
		}
	}
	s.refused = refused
	return set
}

// Fresh assembles a set from fresh lists of the API server (consistent reads), not the
// informers' caches: what admission checks against when the cache refuses a resource, since
// a resource applied together with what it refers to (`kubectl apply -f dir/`) can come
// before the cache has seen the rest.
func (s *Source) Fresh(ctx context.Context) (*crd.Set, error) {
	ns := s.cfg.Namespace
	in := inputs{crs: map[crd.Kind][]*unstructured.Unstructured{}, address: s.cfg.EndpointAddress}
	for _, k := range crd.Kinds() {
		l, err := s.cfg.Dynamic.Resource(GVR(k)).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", Plural(k), err)
		}
		for i := range l.Items {
			in.crs[k] = append(in.crs[k], &l.Items[i])
		}
	}
	svcs, err := s.cfg.Kube.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	for i := range svcs.Items {
		in.services = append(in.services, &svcs.Items[i])
	}
	eps, err := s.cfg.Kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list endpointslices: %w", err)
	}
	pods, err := s.cfg.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	in.slices = func(namespace, svc string) []*discoveryv1.EndpointSlice {
		var out []*discoveryv1.EndpointSlice
		for i := range eps.Items {
			e := &eps.Items[i]
			if e.Namespace == namespace && e.Labels[discoveryv1.LabelServiceName] == svc {
				out = append(out, e)
			}
		}
		return out
	}
	in.pod = func(namespace, name string) *corev1.Pod {
		for i := range pods.Items {
			if p := &pods.Items[i]; p.Namespace == namespace && p.Name == name {
				return p
			}
		}
		return nil
	}
	set, _ := assemble(in)
	return set, nil
}

// assemble builds the set: the wasmesh resources that decode and validate, the discovered
// Services no resource of the same name overrides, less what refers to something missing.
// refused says why each resource left out was.
func assemble(in inputs) (*crd.Set, map[crd.Key]string) {
	refused := map[crd.Key]string{}
	explicit := map[crd.Key]bool{}
	var objs []crd.Object
	for _, k := range crd.Kinds() {
		for _, u := range in.crs[k] {
			d, err := decodeObject(u.Object)
			if err != nil {
				key := crd.Key{Kind: k, Namespace: u.GetNamespace(), Name: u.GetName()}
				refused[key] = err.Error()
				continue
			}
			explicit[crd.KeyOf(d.Object)] = true
			objs = append(objs, d.Object)
		}
	}
	for _, svc := range discovered(in) {
		if !explicit[crd.KeyOf(svc)] {
			objs = append(objs, svc)
		}
	}
	set := crd.NewSet(objs...)
	// A resource the translator cannot take (its Service has no ready endpoint or was
	// deleted, a Service name is taken in another namespace, a plugin slot is over-full) or a
	// filter would refuse (one written before the webhook was installed) is left out, so the
	// rest of the mesh keeps updating; refused says why.
	for range 8 {
		err := errors.Join(crd.References(set), ir.Check(set, ir.Options{}), translate.CheckPluginSlots(set))
		if err == nil {
			break
		}
		drop := map[crd.Key]bool{}
		for _, e := range crd.Leaves(err) {
			var oe *crd.ObjectError
			if errors.As(e, &oe) {
				drop[oe.Key] = true
				refused[oe.Key] = oe.Error()
			}
		}
		if len(drop) == 0 {
			break
		}
		var kept []crd.Object
		for _, o := range set.Objects() {
			if !drop[crd.KeyOf(o)] {
				kept = append(kept, o)
			}
		}
		set = crd.NewSet(kept...)
	}
	return set, refused
}

func serviceSelector(service string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service})
}

// portNamed reports whether an EndpointSlice port has a number and the name of a Service
// port (both unnamed, or the same name).
func portNamed(p discoveryv1.EndpointPort, name string) bool {
	return p.Port != nil && (p.Name == nil && name == "" || p.Name != nil && *p.Name == name)
}

// readyHostPorts returns host:port of each address of an endpoint, rewritten by rewrite
// (nil: as they are), or nothing when the endpoint is not ready.
func readyHostPorts(ep discoveryv1.Endpoint, port int32, rewrite func(string) string) []string {
	if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
		return nil
	}
	var out []string
	for _, a := range ep.Addresses {
		if rewrite != nil {
			a = rewrite(a)
		}
		out = append(out, net.JoinHostPort(a, strconv.Itoa(int(port))))
	}
	return out
}

// discovered returns a wasmesh Service for every Kubernetes Service with ready endpoints:
// the port is the Service's port named "http" (or its first port), each version lists the
// ready addresses of the pods labelled with it, at the EndpointSlice's port of that name.
func discovered(in inputs) []*crd.Service {
	var out []*crd.Service
	for _, svc := range in.services {
		if len(svc.Spec.Ports) == 0 || svc.Namespace == "kube-system" || svc.Labels[DiscoverLabel] == "false" {
			continue
		}
		port := svc.Spec.Ports[0]
		for _, p := range svc.Spec.Ports {
			if p.Name == "http" {
				port = p
				break
			}
		}
		eslices := in.slices(svc.Namespace, svc.Name)
		versions := map[string][]string{}
		for _, es := range eslices {
			if es.AddressType != discoveryv1.AddressTypeIPv4 && es.AddressType != discoveryv1.AddressTypeIPv6 {
				continue
			}
			var epPort int32
			for _, p := range es.Ports {
				if portNamed(p, port.Name) {
					epPort = *p.Port
				}
			}
			if epPort == 0 {
				continue
			}
			for _, ep := range es.Endpoints {
				addrs := readyHostPorts(ep, epPort, in.address)
				if len(addrs) == 0 {
					continue
				}
				version := DefaultVersion
				if ref := ep.TargetRef; ref != nil && ref.Kind == "Pod" {
					if pod := in.pod(cmp.Or(ref.Namespace, svc.Namespace), ref.Name); pod != nil {
						if v := pod.Labels[VersionLabel]; v != "" {
							version = v
						}
					}
				}
				versions[version] = append(versions[version], addrs...)
			}
		}
		if len(versions) == 0 {
			continue
		}
		o := &crd.Service{TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindService}}
		o.Metadata = crd.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, Labels: map[string]string{DiscoveredLabel: "true"}, Generation: 1}
		o.Spec.Port = uint32(port.Port)
		for _, v := range slices.Sorted(maps.Keys(versions)) {
			eps := versions[v]
			slices.Sort(eps)
			o.Spec.Versions = append(o.Spec.Versions, crd.ServiceVersion{Name: v, Endpoints: slices.Compact(eps)})
		}
		if len(crd.Validate(o)) > 0 { // a name or version label that is not a DNS label
			continue
		}
		out = append(out, o)
	}
	return out
}

package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// DiscoveredLabel marks the wasmesh Services the source derived from Kubernetes Services
// (they have no object to write a status to).
const DiscoveredLabel = "wasmesh.io/discovered"

// NodesPath is the URL path where a replica reports, for every resource it serves, the
// state of its own sidecars (NodesHandler); the status leader merges the replicas' reports.
const NodesPath = "/kube/nodes"

// ResourceNodes is what a replica knows of its sidecars' state for one resource
// (xds.Server.ResourceNodes).
type ResourceNodes func(key crd.Key, generation int64) []crd.NodeStatus

// StatusConfig configures RunStatus.
type StatusConfig struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Source  *Source
	// Nodes is this replica's view; Peers, when set, returns the base URLs (http://host:port)
	// of every replica's NodesHandler, this one's included, whose reports are merged.
	Nodes ResourceNodes
	Peers func(ctx context.Context) ([]string, error)
	// Changed signals that the xDS server's state changed (xds.Server.Changed).
	Changed func() <-chan struct{}
	// Identity names this replica in the Lease (its pod name).
	Identity string
	// LeaseNamespace and LeaseName name the coordination.k8s.io Lease the replicas elect the
	// status writer with (default "wasmesh-status" in the namespace "default").
	LeaseNamespace, LeaseName string
	// LeaseDuration, RenewDeadline and RetryPeriod are the election's timings (defaults 15s,
	// 10s, 2s, as controller managers use).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Interval is how often the leader compares the statuses even without a change signal
	// (default 2s: peers' sidecars answer without this replica's server noticing).
	Interval time.Duration
	Log      *slog.Logger
}

// RunStatus takes part in the status writer's election until ctx ends: the replica holding
// the Lease writes every wasmesh resource's status subresource (observedGeneration and the
// sidecars' ACK/NACK state, merged over the replicas) when it differs from what is stored;
// the others write nothing. Losing the Lease stops the writes until it is won again.
func RunStatus(ctx context.Context, cfg StatusConfig) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseNamespace == "" {
		cfg.LeaseNamespace = "default"
	}
	if cfg.LeaseName == "" {
		cfg.LeaseName = StatusLease
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName},
		Client:     cfg.Kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, ReleaseOnCancel: true, Name: cfg.LeaseName,
			LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					cfg.Log.Info("status writer: leading", "identity", cfg.Identity)
					writeStatuses(ctx, cfg)
				},
				OnStoppedLeading: func() { cfg.Log.Info("status writer: not leading", "identity", cfg.Identity) },
			},
		})
		if err != nil {
			return fmt.Errorf("status election: %w", err)
		}
		le.Run(ctx) // returns when leadership is lost or ctx ends; then run for it again
	}
	return ctx.Err()
}

func writeStatuses(ctx context.Context, cfg StatusConfig) {
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		changed := cfg.Changed()
		if err := writeOnce(ctx, cfg); err != nil && ctx.Err() == nil {
			cfg.Log.Warn("status write", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

func writeOnce(ctx context.Context, cfg StatusConfig) error {
	set := cfg.Source.Set()
	peers := collectPeers(ctx, cfg)
	var errs []error
	for _, o := range set.Objects() {
		if o.Meta().Labels[DiscoveredLabel] == "true" {
			continue
		}
		key := crd.KeyOf(o)
		gen := o.Meta().Generation
		want := crd.Status{ObservedGeneration: gen, Nodes: mergeNodes(cfg.Nodes(key, gen), peers[key.String()])}
		for i := range want.Nodes {
			// A node's version is its replica's revision, a local counter: written, it would
			// differ between replicas and rewrite every status at every rebuild.
			want.Nodes[i].Version = ""
		}
		if have, ok := cfg.Source.storedStatus(key); ok && reflect.DeepEqual(normalize(have), normalize(want)) {
			continue
		}
		patch, err := statusPatch(want)
		if err != nil {
			return err
		}
		_, err = cfg.Dynamic.Resource(GVR(key.Kind)).Namespace(key.Namespace).
			Patch(ctx, key.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "wasmesh-controlplane"}, "status")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d status writes failed, first: %w", len(errs), errs[0])
	}
	return nil
}

func normalize(s crd.Status) crd.Status {
	if len(s.Nodes) == 0 {
		s.Nodes = nil
	}
	return s
}

// mergeNodes joins node lists, one entry per node (the first seen), sorted by node.
func mergeNodes(lists ...[]crd.NodeStatus) []crd.NodeStatus {
	seen := map[string]bool{}
	var out []crd.NodeStatus
	for _, l := range lists {
		for _, n := range l {
			if !seen[n.Node] {
				seen[n.Node] = true
				out = append(out, n)
			}
		}
	}
	slices.SortFunc(out, func(a, b crd.NodeStatus) int {
		switch {
		case a.Node < b.Node:
			return -1
		case a.Node > b.Node:
			return 1
		}
		return 0
	})
	return out
}

// collectPeers fetches every peer's report, keyed by resource key then merged; a peer that
// does not answer is left out (its sidecars are missing from the status until it answers).
func collectPeers(ctx context.Context, cfg StatusConfig) map[string][]crd.NodeStatus {
	out := map[string][]crd.NodeStatus{}
	if cfg.Peers == nil {
		return out
	}
	urls, err := cfg.Peers(ctx)
	if err != nil {
		cfg.Log.Warn("status peers", "err", err)
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+NodesPath, nil)
			if err != nil {
				return
			}
			resp, err := hc.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var rep map[string][]crd.NodeStatus
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&rep) != nil {
				return
			}
			mu.Lock()
			for k, ns := range rep {
				out[k] = append(out[k], ns...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// NodesHandler serves this replica's report: for every resource of the source's set, its
// sidecars' states (Nodes), keyed by crd.Key.String().
func NodesHandler(src *Source, nodes ResourceNodes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rep := map[string][]crd.NodeStatus{}
		for _, o := range src.Set().Objects() {
			k := crd.KeyOf(o)
			if ns := nodes(k, o.Meta().Generation); len(ns) > 0 {
				rep[k.String()] = ns
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rep)
	})
}

// EndpointPeers returns a Peers function listing the ready addresses of a Kubernetes
// Service's EndpointSlices (the control plane's own Service) at the port named portName:
// `http://<address>:<port>` for each.
func EndpointPeers(src *Source, namespace, service, portName string) func(context.Context) ([]string, error) {
	return func(context.Context) ([]string, error) {
		eps, err := src.endpointAddresses(namespace, service, portName)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(eps))
		for i, e := range eps {
			out[i] = "http://" + e
		}
		return out, nil
	}
}

// storedStatus returns the status stored with a resource in the informer's cache.
func (s *Source) storedStatus(key crd.Key) (crd.Status, bool) {
	l, ok := s.crs[key.Kind]
	if !ok {
		return crd.Status{}, false
	}
	obj, err := l.ByNamespace(key.Namespace).Get(key.Name)
	if err != nil {
		return crd.Status{}, false
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return crd.Status{}, false
	}
	var st crd.Status
	raw, ok := u.Object["status"]
	if !ok {
		return st, true
	}
	b, err := json.Marshal(raw)
	if err != nil || json.Unmarshal(b, &st) != nil {
		return crd.Status{}, false
	}
	return st, true
}

// endpointAddresses lists host:port of the ready endpoints of a Service's EndpointSlices at
// the port named portName.
func (s *Source) endpointAddresses(namespace, service, portName string) ([]string, error) {
	list, err := s.slices.EndpointSlices(namespace).List(serviceSelector(service))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, es := range list {
		for _, p := range es.Ports {
			if !portNamed(p, portName) {
				continue
			}
			for _, ep := range es.Endpoints {
				out = append(out, readyHostPorts(ep, *p.Port, s.cfg.EndpointAddress)...)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

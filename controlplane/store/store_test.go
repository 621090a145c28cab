package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

func service(name string, versions ...string) *crd.Service {
	s := &crd.Service{
		TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindService},
		Metadata: crd.ObjectMeta{Name: name},
		Spec:     crd.ServiceSpec{Port: 9080},
	}
	for i, v := range versions {
		s.Spec.Versions = append(s.Spec.Versions, crd.ServiceVersion{Name: v, Endpoints: []string{"127.0.0.1:" + string(rune('1'+i)) + "000"}})
	}
	return s
}

func route(svc string, weights map[string]int) *crd.TrafficRoute {
	return &crd.TrafficRoute{
		TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindTrafficRoute},
		Metadata: crd.ObjectMeta{Name: svc},
		Spec:     crd.TrafficRouteSpec{Service: svc, Split: &crd.Split{Weights: weights}},
	}
}

var fixed = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{Now: func() time.Time { return fixed }})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func actions(rs []Result) []Action {
	out := make([]Action, len(rs))
	for i, r := range rs {
		out[i] = r.Action
	}
	return out
}

func TestApplyGenerationsAndRevisions(t *testing.T) {
	s := open(t, t.TempDir())

	rs, err := s.Apply([]crd.Object{service("reviews", "v1", "v2"), route("reviews", map[string]int{"v1": 90, "v2": 10})}, nil)
	require.NoError(t, err)
	require.Equal(t, []Result{
		{Key: crd.Key{Kind: crd.KindService, Namespace: "default", Name: "reviews"}, Action: Created, Generation: 1, ResourceVersion: 1},
		{Key: crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}, Action: Created, Generation: 1, ResourceVersion: 1},
	}, rs)

	// Same content: nothing changes, not even the revision.
	rs, err = s.Apply([]crd.Object{service("reviews", "v1", "v2"), route("reviews", map[string]int{"v1": 90, "v2": 10})}, nil)
	require.NoError(t, err)
	require.Equal(t, []Action{Unchanged, Unchanged}, actions(rs))
	rev, err := s.Revision()
	require.NoError(t, err)
	require.Equal(t, uint64(1), rev)

	// A spec change bumps the generation; a label change does not.
	labelled := service("reviews", "v1", "v2")
	labelled.Metadata.Labels = map[string]string{"team": "books"}
	rs, err = s.Apply([]crd.Object{labelled, route("reviews", map[string]int{"v1": 50, "v2": 50})}, nil)
	require.NoError(t, err)
	require.Equal(t, []Result{
		{Key: crd.Key{Kind: crd.KindService, Namespace: "default", Name: "reviews"}, Action: Configured, Generation: 1, ResourceVersion: 2},
		{Key: crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}, Action: Configured, Generation: 2, ResourceVersion: 2},
	}, rs)

	got, err := s.Get(crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"})
	require.NoError(t, err)
	require.Equal(t, crd.ObjectMeta{Name: "reviews", Namespace: "default", Generation: 2, ResourceVersion: 2, CreationTimestamp: &fixed}, *got.Meta())
	require.Equal(t, map[string]int{"v1": 50, "v2": 50}, got.(*crd.TrafficRoute).Spec.Split.Weights)

	_, err = s.Get(crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "ratings"})
	require.ErrorIs(t, err, ErrNotFound)
	require.EqualError(t, err, `TrafficRoute "ratings": not found`)
}

func TestApplyIsAtomic(t *testing.T) {
	s := open(t, t.TempDir())
	_, err := s.Apply([]crd.Object{service("reviews", "v1")}, nil)
	require.NoError(t, err)

	refuse := errors.New("refused")
	var seen *crd.Set
	_, err = s.Apply([]crd.Object{service("ratings", "v1"), service("reviews", "v1", "v2")}, func(stored *crd.Set) error {
		seen = stored
		return refuse
	})
	require.ErrorIs(t, err, refuse)
	require.Len(t, seen.Services, 1, "validation sees the stored state")

	set, rev, err := s.List()
	require.NoError(t, err)
	require.Equal(t, uint64(1), rev)
	require.Len(t, set.Services, 1)
	require.Equal(t, []string{"v1"}, set.Services[0].VersionNames())
}

func TestSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Now: func() time.Time { return fixed }})
	require.NoError(t, err)
	_, err = s.Apply([]crd.Object{service("reviews", "v1"), route("reviews", map[string]int{"v1": 100})}, nil)
	require.NoError(t, err)
	_, err = s.Delete(crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = open(t, dir)
	set, rev, err := s.List()
	require.NoError(t, err)
	require.Equal(t, uint64(2), rev)
	require.Len(t, set.Objects(), 1)
	require.Equal(t, crd.ObjectMeta{Name: "reviews", Namespace: "default", Generation: 1, ResourceVersion: 1, CreationTimestamp: &fixed}, set.Services[0].Metadata)

	rs, err := s.Apply([]crd.Object{service("reviews", "v1", "v2")}, nil)
	require.NoError(t, err)
	require.Equal(t, Result{Key: crd.Key{Kind: crd.KindService, Namespace: "default", Name: "reviews"}, Action: Configured, Generation: 2, ResourceVersion: 3}, rs[0])
}

func TestDelete(t *testing.T) {
	s := open(t, t.TempDir())
	key := crd.Key{Kind: crd.KindService, Namespace: "default", Name: "reviews"}
	_, err := s.Delete(key, nil)
	require.ErrorIs(t, err, ErrNotFound)

	_, err = s.Apply([]crd.Object{service("reviews", "v1")}, nil)
	require.NoError(t, err)
	inUse := errors.New("in use")
	_, err = s.Delete(key, func(*crd.Set) error { return inUse })
	require.ErrorIs(t, err, inUse)
	_, err = s.Get(key)
	require.NoError(t, err)

	r, err := s.Delete(key, nil)
	require.NoError(t, err)
	require.Equal(t, Result{Key: key, Action: Deleted, ResourceVersion: 2}, r)
	_, err = s.Get(key)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestSubscribe(t *testing.T) {
	s := open(t, t.TempDir())
	updates, cancel := s.Subscribe()

	_, err := s.Apply([]crd.Object{service("a", "v1")}, nil)
	require.NoError(t, err)
	_, err = s.Apply([]crd.Object{service("b", "v1")}, nil)
	require.NoError(t, err)
	require.Equal(t, uint64(2), <-updates, "a slow reader sees the latest revision only")

	_, err = s.Apply([]crd.Object{service("b", "v1")}, nil) // unchanged: no notification
	require.NoError(t, err)
	select {
	case r := <-updates:
		t.Fatalf("unexpected update %d", r)
	default:
	}

	cancel()
	_, ok := <-updates
	require.False(t, ok)
}

func TestConcurrentApplies(t *testing.T) {
	s := open(t, t.TempDir())
	updates, cancel := s.Subscribe()
	defer cancel()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Apply([]crd.Object{service("svc-"+string(rune('a'+i)), "v1")}, nil)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, uint64(8), <-updates)
	set, rev, err := s.List()
	require.NoError(t, err)
	require.Equal(t, uint64(8), rev)
	require.Len(t, set.Services, 8)
}

func TestWatch(t *testing.T) {
	s := open(t, t.TempDir())
	_, err := s.Apply([]crd.Object{service("a", "v1")}, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan []string, 10)
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(ctx, func(set *crd.Set, rev uint64) {
			var names []string
			for _, svc := range set.Services {
				names = append(names, svc.Metadata.Name)
			}
			seen <- append(names, fmt.Sprint(rev))
		})
	}()
	require.Equal(t, []string{"a", "1"}, <-seen, "the current state first")
	_, err = s.Apply([]crd.Object{service("b", "v1")}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "2"}, <-seen)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func BenchmarkApply(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	require.NoError(b, err)
	defer s.Close()
	_, err = s.Apply([]crd.Object{service("reviews", "v1", "v2")}, nil)
	require.NoError(b, err)
	b.ResetTimer()
	for i := range b.N {
		w := i % 101
		_, err := s.Apply([]crd.Object{route("reviews", map[string]int{"v1": 100 - w, "v2": w})}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestApplyCanonicalisesTypeMeta(t *testing.T) {
	s := open(t, t.TempDir())
	svc := service("reviews", "v1")
	svc.TypeMeta = crd.TypeMeta{} // built in Go without apiVersion/kind
	_, err := s.Apply([]crd.Object{svc}, nil)
	require.NoError(t, err)
	got, err := s.Get(crd.Key{Kind: crd.KindService, Namespace: "default", Name: "reviews"})
	require.NoError(t, err)
	require.Equal(t, crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindService}, got.(*crd.Service).TypeMeta)
}

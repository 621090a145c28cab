package admission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/internal/memmodules"
)

// stallingRunner is a DryRunner whose first dry run of a config containing stall blocks
// until release is closed (entered is closed when it starts); it counts the dry runs per
// plugin (the config's "name").
type stallingRunner struct {
	stall            string
	entered, release chan struct{}

	mu      sync.Mutex
	stalled bool
	runs    map[string]int
}

func newStallingRunner(stall string) *stallingRunner {
	return &stallingRunner{stall: stall, entered: make(chan struct{}), release: make(chan struct{}), runs: map[string]int{}}
}

func (r *stallingRunner) DryRun(_ context.Context, _ []byte, _ string, config []byte) ([]string, error) {
	r.mu.Lock()
	r.runs[string(config)]++
	stall := !r.stalled && strings.Contains(string(config), r.stall)
	r.stalled = r.stalled || stall
	r.mu.Unlock()
	if stall {
		close(r.entered)
		<-r.release // a dry run that takes its time
	}
	return nil, nil
}

func (r *stallingRunner) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[`{"name":"`+name+`"}`]
}

// fixture is a store holding Service reviews, a module, and a pipeline on them whose dry run
// stalls for the plugin named stall.
type fixture struct {
	st     *store.Store
	sha    string
	runner *stallingRunner
}

func newFixture(t *testing.T, stall string) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	_, err = st.Apply([]crd.Object{decodeAs(t, "s.yaml", svcReviews)[0].Object}, nil)
	require.NoError(t, err)
	return &fixture{st: st, runner: newStallingRunner(stall)}
}

func (f *fixture) pipeline(t *testing.T, filters ...crd.Checker) *Pipeline {
	t.Helper()
	mods := &memmodules.Store{}
	sha, _, err := mods.Put(context.Background(), bytes.NewReader([]byte("\x00asm\x01\x00\x00\x00")), "")
	require.NoError(t, err)
	f.sha = sha
	return New(Config{Store: f.st, Filters: filters, Modules: FetchModules(mods, FetchOptions{}), DryRun: PluginDryRun(mods, f.runner)})
}

func (f *fixture) plugin(name string, priority int) string {
	return fmt.Sprintf("%skind: WasmPlugin\nmetadata: {name: %s}\nspec:\n  module: {sha256: %s}\n  selector: {services: [reviews]}\n  priority: %d\n  config: {name: %s}\n",
		head, name, f.sha, priority, name)
}

type applied struct {
	out *Outcome
	err error
}

// Issue 11: applies and deletes go through while a WasmPlugin's dry run is in progress
// (admission runs outside the store's write lock), and the stalled apply, once its dry run
// returns, finds the store moved on: it is admitted again against the new state (its dry run
// runs again) and then commits, keeping the other writes.
func TestDryRunBlocksNoWrite(t *testing.T) {
	f := newFixture(t, "slow")
	p := f.pipeline(t)
	ctx := context.Background()

	slow := make(chan applied, 1)
	go func() {
		out, err := p.Apply(ctx, Inputs(decodeAs(t, "slow.yaml", f.plugin("slow", 0))...), false)
		slow <- applied{out, err}
	}()
	<-f.runner.entered // the slow apply is in its dry run, and stays there until released

	route := crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"}
	canary := head + "kind: TrafficRoute\nmetadata: {name: reviews}\nspec: {service: reviews, split: {weights: {v1: 90, v2: 10}}}\n"
	for i := range 3 {
		out, err := p.Apply(ctx, Inputs(decodeAs(t, "c.yaml", canary)...), false)
		require.NoError(t, err, "apply %d", i)
		require.Equal(t, 1, out.Attempts)
		got, err := f.st.Get(route)
		require.NoError(t, err, "apply %d is visible", i)
		require.Equal(t, out.Results[0].ResourceVersion, got.Meta().ResourceVersion)
		_, err = p.Delete(ctx, route)
		require.NoError(t, err, "delete %d", i)
	}
	// Another WasmPlugin goes through its own dry run meanwhile.
	fast, err := p.Apply(ctx, Inputs(decodeAs(t, "fast.yaml", f.plugin("fast", 0))...), false)
	require.NoError(t, err)
	require.Equal(t, 1, f.runner.count("fast"))
	select {
	case r := <-slow:
		t.Fatalf("the stalled apply returned before its dry run was released: %+v", r)
	default:
	}

	close(f.runner.release)
	r := <-slow
	require.NoError(t, r.err)
	require.Equal(t, 2, r.out.Attempts, "admitted again: the store changed while it ran")
	require.Equal(t, 2, f.runner.count("slow"), "its dry run ran once per admission")
	require.Equal(t, fast.Revision+1, r.out.Revision)
	set, rev, err := f.st.List()
	require.NoError(t, err)
	require.Equal(t, r.out.Revision, rev)
	require.Len(t, set.WasmPlugins, 2, "both plugins stored")
}

// Issue 11: an apply whose admission was overtaken by a conflicting write is admitted again
// against the new state and refused there; it is never committed on the strength of its
// first admission. Apply A (a WasmPlugin) stalls in its dry run; apply B fills every plugin
// slot of A's Service with plugins that run before A; released, A is checked again (its
// filter parsers stage, which holds the plugin-slot check, runs a second time) and refused
// against B's revision.
func TestConflictingApplyValidatedAgain(t *testing.T) {
	f := newFixture(t, "late")
	var mu sync.Mutex
	runsWithA := 0 // the filter stage's runs on a set holding A
	slots := crd.CheckerFunc(func(_ context.Context, set *crd.Set, _ []crd.Key) error {
		for _, p := range set.WasmPlugins {
			if p.Metadata.Name == "late" {
				mu.Lock()
				runsWithA++
				mu.Unlock()
			}
		}
		return translate.CheckPluginSlots(set)
	})
	p := f.pipeline(t, slots)
	ctx := context.Background()

	a := make(chan applied, 1)
	go func() {
		out, err := p.Apply(ctx, Inputs(decodeAs(t, "a.yaml", f.plugin("late", 0))...), false)
		a <- applied{out, err}
	}()
	<-f.runner.entered

	var b []string
	for i := range translate.PluginSlots {
		b = append(b, f.plugin(fmt.Sprintf("early%d", i), 10))
	}
	outB, err := p.Apply(ctx, Inputs(decodeAs(t, "b.yaml", strings.Join(b, "---\n"))...), false)
	require.NoError(t, err, "B alone fits the slots")

	close(f.runner.release)
	r := <-a
	var refusal *Refusal
	require.ErrorAs(t, r.err, &refusal)
	require.Equal(t, StageFilters, refusal.Stage)
	require.Equal(t, outB.Revision, refusal.Revision, "refused against the state B committed")
	require.EqualError(t, r.err, fmt.Sprintf(`a.yaml:6: document 1 (WasmPlugin "late"): spec.selector: the sidecars of Service "reviews" would run more than %d WasmPlugins in phase "after" (a sidecar has %d slots per phase): merge plugins, or select fewer services`,
		translate.PluginSlots, translate.PluginSlots))
	mu.Lock()
	require.Equal(t, 2, runsWithA, "A's filter stage ran once per admission")
	mu.Unlock()
	require.Equal(t, 1, f.runner.count("late"), "the second admission stopped before the dry run")

	_, err = f.st.Get(crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "late"})
	require.ErrorIs(t, err, store.ErrNotFound, "A was not committed")
	rev, err := f.st.Revision()
	require.NoError(t, err)
	require.Equal(t, outB.Revision, rev)
}

// A refusal names its stage; a later stage does not run once one refused.
func TestStagesStopAtFirstRefusal(t *testing.T) {
	f := newFixture(t, "never")
	p := f.pipeline(t)
	ctx := context.Background()
	// Structure: refused before anything looks at the store or the module.
	_, err := p.Apply(ctx, Inputs(decodeAs(t, "x.yaml", f.plugin("bad", 0)+"---\n"+f.plugin("bad", 1))...), false)
	var refusal *Refusal
	require.ErrorAs(t, err, &refusal)
	require.Equal(t, StageStructure, refusal.Stage)
	require.EqualError(t, err, `x.yaml:12: document 2 (WasmPlugin "bad"): metadata.name: WasmPlugin "bad" appears twice in the request`)
	// Module fetch: a module not on the server is not dry-run.
	missing := strings.Replace(f.plugin("nomod", 0), f.sha, strings.Repeat("b", 64), 1)
	_, err = p.Apply(ctx, Inputs(decodeAs(t, "m.yaml", missing)...), false)
	require.ErrorAs(t, err, &refusal)
	require.Equal(t, StageModules, refusal.Stage)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Zero(t, f.runner.count("nomod"))
	// Decode: the wire JSON is read strictly.
	_, err = p.Apply(ctx, []Input{{Document: crd.Document{Source: "<request>", Index: 1}, JSON: []byte(`{"apiVersion":"wasmesh.io/v1alpha1","kind":"Service","metadata":{"name":"x"},"spec":{"prot":1}}`)}}, false)
	require.ErrorAs(t, err, &refusal)
	require.Equal(t, StageDecode, refusal.Stage)
	require.ErrorContains(t, err, `spec.prot: unknown field (did you mean "port"?)`)
	require.True(t, errors.As(err, new(*crd.DocError)))
}

// A dry run predicts without committing; an unchanged resource is reported so.
func TestApplyDryRun(t *testing.T) {
	f := newFixture(t, "never")
	p := f.pipeline(t)
	ctx := context.Background()
	out, err := p.Apply(ctx, Inputs(decodeAs(t, "s.yaml", svcReviews+"---\n"+f.plugin("p", 0))...), true)
	require.NoError(t, err)
	require.True(t, out.DryRun)
	require.Equal(t, []store.Action{store.Unchanged, store.Created}, []store.Action{out.Results[0].Action, out.Results[1].Action})
	rev, err := f.st.Revision()
	require.NoError(t, err)
	require.Equal(t, rev, out.Revision)
	require.Equal(t, uint64(1), rev, "nothing committed")
}

package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	wasmfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/wasm/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/crd/crdtest"
	"github.com/wasmesh/wasmesh/controlplane/ir"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/xds/xdstest"
	"github.com/wasmesh/wasmesh/filters/authz"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
)

// The built-in filters' own parsers accept every config the translator generates from valid
// resources: the golden inputs and the examples.
func TestBuiltinParsersAcceptGeneratedConfigs(t *testing.T) {
	var inputs [][]string
	golden, err := filepath.Glob("translate/testdata/*.in.yaml")
	require.NoError(t, err)
	for _, g := range golden {
		inputs = append(inputs, []string{g})
	}
	inputs = append(inputs, []string{"../examples/crds"})
	// The sandbox's files are alternatives to apply one at a time, on top of its services.
	sandbox, err := filepath.Glob("../sandbox/crds/*.yaml")
	require.NoError(t, err)
	for _, f := range sandbox {
		if filepath.Base(f) != "services.yaml" {
			inputs = append(inputs, []string{"../sandbox/crds/services.yaml", f})
		}
	}
	// Inputs that exist to be refused, each with the refusal it must get.
	refused := map[string]string{
		"translate/testdata/namespaces.in.yaml": `a Service named "reviews" already exists in namespace "books" (service names are mesh-wide)`,
	}
	check := FilterChecker(ir.Options{})
	// What the translator emits, each filter's whole config parsed as Envoy hands it over.
	parsers := map[string]func([]byte) error{
		translate.FilterRouter:    func(b []byte) error { _, err := router.ParseConfig(b); return err },
		translate.FilterCanary:    func(b []byte) error { _, err := canary.ParseConfig(b); return err },
		translate.FilterFault:     func(b []byte) error { _, err := fault.ParseConfig(b); return err },
		translate.FilterTelemetry: func(b []byte) error { _, err := telemetry.ParseConfig(b); return err },
	}
	for _, in := range inputs {
		t.Run(strings.Join(in, "+"), func(t *testing.T) {
			docs, err := crd.ReadPaths(nil, in...)
			require.NoError(t, err)
			var objs []crd.Object
			for _, d := range docs {
				objs = append(objs, d.Object)
			}
			set := crd.NewSet(objs...)
			if want, ok := refused[in[0]]; ok {
				require.ErrorContains(t, crd.References(set), want)
				_, err := translate.Build(set, translate.Options{})
				require.ErrorContains(t, err, want, "the translator must refuse it too")
				return
			}
			require.NoError(t, crd.References(set))
			policies, err := ir.Build(set, ir.Options{})
			require.NoError(t, err)
			configs, err := policies.FilterConfigs()
			require.NoError(t, err)
			require.Len(t, configs, len(parsers))
			for name, b := range configs {
				require.NoError(t, parsers[name](b), "%s filter config %s", name, b)
			}
			authzCfg, err := policies.AuthzConfig()
			require.NoError(t, err)
			_, err = authz.ParseConfig(authzCfg)
			require.NoError(t, err, "authz filter config %s", authzCfg)
			require.NoError(t, check.Check(context.Background(), set, nil))
		})
	}
}

// An apply reaches a connected sidecar as an ECDS push of the new filter config, and status
// (API) reports the node and the resource acknowledged.
func TestApplyPushesToSidecars(t *testing.T) {
	modDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(modDir, "wasmesh.wasm"), []byte("\x00asm\x01\x00\x00\x00bundle"), 0o644))
	cp, err := Start(context.Background(), Config{DataDir: t.TempDir(), HTTPAddress: "127.0.0.1:0", XDSAddress: "127.0.0.1:0", ModulesDir: modDir})
	require.NoError(t, err)
	defer func() { require.NoError(t, cp.Close()) }()
	client := cp.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	apply := func(yaml string) {
		t.Helper()
		docs, err := crd.Decode("test.yaml", []byte(yaml))
		require.NoError(t, err)
		_, err = client.Apply(ctx, docs, false)
		require.NoError(t, err)
	}
	apply(crdtest.Reviews)
	node := translate.Node{ID: "frontend.v1.0", Service: "frontend", Version: "v1",
		AppAddress: "127.0.0.1:8080", InboundAddress: "127.0.0.1:15006", OutboundAddress: "127.0.0.1:15001"}
	sc, err := xdstest.Dial(cp.XDSAddr, cp.SidecarToken(node.ID), xdstest.NodeProto(node), nil)
	require.NoError(t, err)
	defer sc.Close()

	canaryConfig := func(c *xdstest.Client) string {
		for _, a := range c.State(resource.ExtensionConfigType).Resources {
			var tec core.TypedExtensionConfig
			var w wasmfilter.Wasm
			var s wrapperspb.StringValue
			if a.UnmarshalTo(&tec) != nil || tec.Name != "wasmesh.chain" ||
				tec.TypedConfig.UnmarshalTo(&w) != nil || w.Config.Configuration.UnmarshalTo(&s) != nil {
				continue
			}
			require.Equal(t, "http://"+cp.HTTPAddr+"/modules/"+cp.Builtins["wasmesh.wasm"], w.Config.GetVmConfig().GetCode().GetRemote().GetHttpUri().GetUri())
			return xdstest.StageConfig(s.Value, "canary")
		}
		return ""
	}
	require.NoError(t, sc.Wait(ctx, func(c *xdstest.Client) bool { return canaryConfig(c) == `{"services":{"reviews":{}}}` }))

	for _, w := range [][2]int{{90, 10}, {0, 100}} {
		apply(fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split: {weights: {v1: %d, v2: %d}}
`, w[0], w[1]))
		want := fmt.Sprintf(`{"services":{"reviews":{"weights":{"v1":%d,"v2":%d}}}}`, w[0], w[1])
		require.NoError(t, sc.Wait(ctx, func(c *xdstest.Client) bool { return canaryConfig(c) == want }))
	}
	rev, err := cp.Store.Revision()
	require.NoError(t, err)
	require.NoError(t, cp.XDS.WaitAcked(ctx, rev))

	st, err := client.Status(ctx)
	require.NoError(t, err)
	require.Len(t, st.Nodes, 1)
	require.Equal(t, "frontend.v1.0", st.Nodes[0].ID)
	require.True(t, st.Nodes[0].Connected)
	require.Equal(t, st.Revision, st.Nodes[0].Revision)
	var states []string
	for _, r := range st.Resources {
		for _, n := range r.Nodes {
			states = append(states, fmt.Sprintf("%s/%s@%d %s=%s", r.Key.Kind, r.Key.Name, r.Generation, n.Node, n.State))
		}
	}
	require.Equal(t, "Service/reviews@1 frontend.v1.0=acked TrafficRoute/reviews@2 frontend.v1.0=acked", strings.Join(states, " "))

	o, err := client.Get(ctx, crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"})
	require.NoError(t, err)
	require.Equal(t, []crd.NodeStatus{{Node: "frontend.v1.0", State: crd.Acked, Version: fmt.Sprint(st.Revision)}}, o.GetStatus().Nodes)
	require.EqualValues(t, 2, o.Meta().Generation)
	require.EqualValues(t, 2, o.GetStatus().ObservedGeneration, "translated at its generation")
}

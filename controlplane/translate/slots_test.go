package translate

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

func wasmPlugin(name string, priority int32, services ...string) *crd.WasmPlugin {
	p := &crd.WasmPlugin{
		TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindWasmPlugin},
		Metadata: crd.ObjectMeta{Name: name, Namespace: crd.DefaultNamespace, Generation: 1},
		Spec:     crd.WasmPluginSpec{Module: crd.Module{SHA256: strings.Repeat("c", 64)}, Priority: priority},
	}
	p.Spec.Selector.Services = services
	return p
}

// Issue 10, item 6: adding or removing a WasmPlugin changes the sidecar's ECDS configs only:
// its listeners (and so no listener drain), clusters, routes and endpoints keep their
// versions.
func TestPluginAddRemoveKeepsListeners(t *testing.T) {
	data, err := os.ReadFile("testdata/canary.in.yaml")
	require.NoError(t, err)
	tc := loadCase(t, data)
	base, err := translate(tc)
	require.NoError(t, err)
	with := tc
	with.set = crd.NewSet(append(tc.set.Objects(), wasmPlugin("auth", 0), wasmPlugin("audit", 5))...)
	added, err := translate(with)
	require.NoError(t, err)
	for _, typ := range []string{TypeListeners, TypeClusters, TypeEndpoints, TypeRoutes} {
		require.Equal(t, base.Version(typ), added.Version(typ), typ)
	}
	require.NotEqual(t, base.Version(TypeExtensionConfigs), added.Version(TypeExtensionConfigs))
	require.Equal(t, len(base.ExtensionConfigs), len(added.ExtensionConfigs), "the ECDS names stay the same")
	src, ok := added.Source(crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "auth"})
	require.True(t, ok)
	require.Equal(t, []string{TypeExtensionConfigs}, src.Types)
}

// A Service's sidecars have PluginSlots slots per phase: a set that needs more is refused,
// naming the WasmPlugins over the limit.
func TestCheckPluginSlots(t *testing.T) {
	var objs []crd.Object
	objs = append(objs, &crd.Service{TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindService},
		Metadata: crd.ObjectMeta{Name: "reviews", Namespace: "default"}})
	for i := range PluginSlots {
		objs = append(objs, wasmPlugin(fmt.Sprintf("p%d", i), int32(10-i)))
	}
	require.NoError(t, CheckPluginSlots(crd.NewSet(objs...)))
	objs = append(objs, wasmPlugin("extra", 0, "reviews"))
	err := CheckPluginSlots(crd.NewSet(objs...))
	require.EqualError(t, err, `WasmPlugin "extra": spec.selector: the sidecars of Service "reviews" would run more than 4 WasmPlugins in phase "after" (a sidecar has 4 slots per phase): merge plugins, or select fewer services`)
}

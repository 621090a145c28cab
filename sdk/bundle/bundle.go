package bundle

import (
	"errors"
	"slices"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// Factory creates a plugin context.
type Factory = func(contextID uint32) types.PluginContext

// ErrUnknownRootID is wrapped by the error for a root_id no plugin is registered under.
var ErrUnknownRootID = errors.New("unknown root_id")

// Lookup returns the factory for rootID, or an error naming the known root_ids.
func Lookup(plugins map[string]Factory, rootID string) (Factory, error) {
	if f, ok := plugins[rootID]; ok {
		return f, nil
	}
	known := make([]string, 0, len(plugins))
	for k := range plugins {
		known = append(known, k)
	}
	slices.Sort(known)
	return nil, errors.New(ErrUnknownRootID.Error() + ` "` + rootID + `" (known: ` + strings.Join(known, ", ") + ")")
}

// New returns a plugin-context factory that, at plugin start, reads the plugin's root_id
// (property plugin_root_id) and delegates everything to the plugin registered under it.
// Use it as proxywasm.SetPluginContext(bundle.New(...)) in the bundle's main.
func New(name string, plugins map[string]Factory) Factory {
	return func(contextID uint32) types.PluginContext {
		return &dispatch{name: name, id: contextID, plugins: plugins}
	}
}

type dispatch struct {
	types.DefaultPluginContext
	name    string
	id      uint32
	plugins map[string]Factory
	inner   types.PluginContext
}

var _ types.PluginContext = (*dispatch)(nil)

func (d *dispatch) OnPluginStart(size int) types.OnPluginStartStatus {
	root, err := proxywasm.GetProperty([]string{"plugin_root_id"})
	if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogCritical(d.name + ": read plugin_root_id: " + err.Error())
		return types.OnPluginStartStatusFailed
	}
	f, err := Lookup(d.plugins, string(root))
	if err != nil {
		proxywasm.LogCritical(d.name + ": " + err.Error())
		return types.OnPluginStartStatusFailed
	}
	d.inner = f(d.id)
	return d.inner.OnPluginStart(size)
}

func (d *dispatch) OnPluginDone() bool {
	if d.inner == nil {
		return true
	}
	return d.inner.OnPluginDone()
}

func (d *dispatch) OnQueueReady(id uint32) {
	if d.inner != nil {
		d.inner.OnQueueReady(id)
	}
}

func (d *dispatch) OnTick() {
	if d.inner != nil {
		d.inner.OnTick()
	}
}

func (d *dispatch) NewHttpContext(id uint32) types.HttpContext {
	if d.inner == nil {
		return nil
	}
	return d.inner.NewHttpContext(id)
}

func (d *dispatch) NewTcpContext(id uint32) types.TcpContext {
	if d.inner == nil {
		return nil
	}
	return d.inner.NewTcpContext(id)
}

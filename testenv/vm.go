package testenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// vm is one instance of a module (Envoy: one Wasm VM on one worker). Filters with the same
// module, vm_id and vm configuration share it, each with its own root context, as in Envoy.
type vm struct {
	env    *Env
	key    string
	vmID   string
	config []byte
	mod    api.Module
	mem    api.Memory
	ctx    context.Context
	abi    string
	stack  []uint64

	allocStack [1]uint64         // malloc's parameter and result
	interned   map[string]string // internString's copies

	malloc, onContextCreate, onVMStart, onConfigure, onDone, onLog, onDelete *guestFn
	onRequestHeaders, onRequestBody, onRequestTrailers                       *guestFn
	onResponseHeaders, onResponseBody, onResponseTrailers                    *guestFn
	onHTTPCallResponse, onTick, onQueueReady, onForeignFunction              *guestFn

	restrict  map[string]bool // non-nil: only these host calls are allowed (start, allocation)
	current   *wctx           // context of the running top-level call
	effective *wctx           // set_effective_context target during this call
	contexts  map[uint32]*wctx
	nextID    uint32
	metricIDs map[uint32]*metric
	failed    error
	plugins   []*plugin
}

// wctx is a proxy-wasm context: a plugin's root context or one HTTP stream's context.
type wctx struct {
	id     uint32
	vm     *vm
	plugin *plugin
	root   bool
	fs     *filterStream // HTTP contexts: the filter's state in its stream
	call   *callResponse // during proxy_on_http_call_response
	args   []byte        // during proxy_on_foreign_function (CallData buffer)
	dead   bool
}

// guestFn is an exported guest function, looked up once per VM, with what call needs to know
// about it precomputed.
type guestFn struct {
	api.Function
	hasResult bool
	name      string
	calls     *int // Env.Callbacks counter of this export
}

type vmKey struct{}

// errTrap marks a host-side trap (restricted call, bad memory), raised with panic.
type errTrap struct{ msg string }

func (e errTrap) Error() string { return e.msg }

func newVM(e *Env, c *compiled, key, vmID string, config []byte) (*vm, error) {
	v := &vm{env: e, key: key, vmID: vmID, config: config, abi: c.info.ABIVersion,
		contexts: map[uint32]*wctx{}, nextID: 1, metricIDs: map[uint32]*metric{}, stack: make([]uint64, 16)}
	base := e.opts.ctx
	if base == nil {
		base = context.Background()
	}
	v.ctx = context.WithValue(base, vmKey{}, v)
	mod, err := e.rt.rt.InstantiateModule(v.ctx, c.mod, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	v.mod, v.mem = mod, mod.Memory()
	if v.mem == nil {
		mod.Close(v.ctx)
		return nil, errors.New("the module exports no memory")
	}
	f := func(name string) *guestFn {
		fn := mod.ExportedFunction(name)
		if fn == nil {
			return nil
		}
		return &guestFn{Function: fn, hasResult: len(fn.Definition().ResultTypes()) > 0, name: name, calls: e.callbackCounter(name)}
	}
	v.malloc = f("malloc")
	if v.malloc == nil {
		v.malloc = f("proxy_on_memory_allocate")
	}
	v.onContextCreate, v.onVMStart, v.onConfigure = f("proxy_on_context_create"), f("proxy_on_vm_start"), f("proxy_on_configure")
	v.onDone, v.onLog, v.onDelete = f("proxy_on_done"), f("proxy_on_log"), f("proxy_on_delete")
	v.onRequestHeaders, v.onRequestBody, v.onRequestTrailers = f("proxy_on_request_headers"), f("proxy_on_request_body"), f("proxy_on_request_trailers")
	v.onResponseHeaders, v.onResponseBody, v.onResponseTrailers = f("proxy_on_response_headers"), f("proxy_on_response_body"), f("proxy_on_response_trailers")
	v.onHTTPCallResponse, v.onTick, v.onQueueReady = f("proxy_on_http_call_response"), f("proxy_on_tick"), f("proxy_on_queue_ready")
	v.onForeignFunction = f("proxy_on_foreign_function")
	return v, nil
}

// start runs the reactor's _initialize (or a command's _start) under Envoy's start-up
// restrictions.
func (v *vm) start(logAs *plugin) error {
	for _, name := range []string{"_initialize", "_start"} {
		fn := v.mod.ExportedFunction(name)
		if fn == nil {
			continue
		}
		v.restrict = startAllowed
		v.current = &wctx{vm: v, plugin: logAs, root: true}
		_, err := fn.Call(v.ctx)
		v.restrict, v.current = nil, nil
		if err != nil {
			v.failed = fmt.Errorf("%s: %w", name, err)
			return v.failed
		}
		if name == "_initialize" {
			if m := v.mod.ExportedFunction("main"); m != nil {
				if _, err := m.Call(v.ctx, 0, 0); err != nil {
					v.failed = fmt.Errorf("main: %w", err)
					return v.failed
				}
			}
		}
		return nil
	}
	return nil
}

func (v *vm) newContext(p *plugin, root bool) *wctx {
	return v.initContext(&wctx{}, p, root)
}

// initContext registers c (memory the caller owns) as a new context.
func (v *vm) initContext(c *wctx, p *plugin, root bool) *wctx {
	*c = wctx{id: v.nextID, vm: v, plugin: p, root: root}
	v.nextID++
	v.contexts[c.id] = c
	return c
}

// call runs one top-level guest callback in context c. A trap fails the VM.
func (v *vm) call(fn *guestFn, c *wctx, args ...uint64) (uint64, error) {
	if v.failed != nil {
		return 0, v.failed
	}
	if fn == nil {
		return 0, nil
	}
	*fn.calls++
	prevCur, prevEff := v.current, v.effective
	v.current, v.effective = c, nil
	stack := v.stack[:max(len(args), 1)]
	copy(stack, args)
	err := fn.CallWithStack(v.ctx, stack)
	v.current, v.effective = prevCur, prevEff
	if err != nil {
		name := fn.Definition().ExportNames()
		v.failed = fmt.Errorf("filter %q: %s trapped: %w%s", c.plugin.name, strings.Join(name, ","), err, v.env.recentErrors(c.plugin))
		for _, p := range v.plugins {
			p.failed = v.failed
		}
		return 0, v.failed
	}
	if !fn.hasResult {
		return 0, nil
	}
	return uint64(uint32(stack[0])), nil
}

// ctxFor is the context host calls act on: the effective context if the plugin set one.
func (v *vm) ctxFor() *wctx {
	if v.effective != nil {
		return v.effective
	}
	return v.current
}

// alloc allocates size bytes in the guest through its allocator, under Envoy's allocation
// restrictions (the Go runtime may call clock_time_get and poll_oneoff in there).
func (v *vm) alloc(size uint32) (uint32, bool) {
	if v.malloc == nil {
		return 0, false
	}
	prev := v.restrict
	v.restrict = allocAllowed
	v.allocStack[0] = uint64(size)
	*v.malloc.calls++
	err := v.malloc.CallWithStack(v.ctx, v.allocStack[:])
	v.restrict = prev
	if err != nil {
		panic(errTrap{msg: "proxy_on_memory_allocate: " + err.Error()})
	}
	ptr := uint32(v.allocStack[0])
	if ptr == 0 {
		return 0, false
	}
	if _, ok := v.mem.Read(ptr, size); !ok {
		return 0, false
	}
	return ptr, true
}

// copyOut hands data to the guest: allocated once, pointer and size written to ptrPtr and
// sizePtr. Empty data gives pointer 0 and size 0 without an allocation.
func (v *vm) copyOut(data []byte, ptrPtr, sizePtr uint32) status {
	var ptr uint32
	if len(data) > 0 {
		p, ok := v.alloc(uint32(len(data)))
		if !ok {
			return statusInvalidMemoryAccess
		}
		v.mem.Write(p, data)
		ptr = p
	}
	if !v.mem.WriteUint32Le(ptrPtr, ptr) || !v.mem.WriteUint32Le(sizePtr, uint32(len(data))) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// copyOutString is copyOut for a string (no conversion to []byte).
func (v *vm) copyOutString(data string, ptrPtr, sizePtr uint32) status {
	var ptr uint32
	if len(data) > 0 {
		p, ok := v.alloc(uint32(len(data)))
		if !ok {
			return statusInvalidMemoryAccess
		}
		v.mem.WriteString(p, data)
		ptr = p
	}
	if !v.mem.WriteUint32Le(ptrPtr, ptr) || !v.mem.WriteUint32Le(sizePtr, uint32(len(data))) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// copyOutWith allocates size bytes in the guest, lets fill write them in place, and writes
// pointer and size to ptrPtr and sizePtr (no host-side buffer).
func (v *vm) copyOutWith(size uint32, fill func([]byte), ptrPtr, sizePtr uint32) status {
	p, ok := v.alloc(size)
	if !ok {
		return statusInvalidMemoryAccess
	}
	b, ok := v.mem.Read(p, size)
	if !ok {
		return statusInvalidMemoryAccess
	}
	fill(b)
	if !v.mem.WriteUint32Le(ptrPtr, p) || !v.mem.WriteUint32Le(sizePtr, size) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// read returns a copy-free view of guest memory (valid until the guest runs again).
func (v *vm) read(ptr, size uint32) ([]byte, bool) {
	if size == 0 {
		return nil, true
	}
	return v.mem.Read(ptr, size)
}

func (v *vm) readString(ptr, size uint32) (string, bool) {
	b, ok := v.read(ptr, size)
	return string(b), ok
}

// viewString is a copy-free string over guest memory, for a lookup that neither keeps it nor
// runs the guest (or allocates in it) while using it.
func (v *vm) viewString(ptr, size uint32) (string, bool) {
	b, ok := v.read(ptr, size)
	if len(b) == 0 {
		return "", ok
	}
	return unsafe.String(&b[0], len(b)), ok
}

// internString is readString for strings a stream keeps (header names and values): repeated
// ones share one copy per VM (at most maxInterned strings of at most 128 bytes).
func (v *vm) internString(ptr, size uint32) (string, bool) {
	b, ok := v.read(ptr, size)
	if !ok || len(b) == 0 {
		return "", ok
	}
	if s, ok := v.interned[string(b)]; ok {
		return s, true
	}
	s := string(b)
	if len(b) <= 128 && len(v.interned) < maxInterned {
		if v.interned == nil {
			v.interned = map[string]string{}
		}
		v.interned[s] = s
	}
	return s, true
}

const maxInterned = 4096

func (v *vm) close() {
	if v.mod != nil {
		_ = v.mod.Close(context.Background())
	}
}

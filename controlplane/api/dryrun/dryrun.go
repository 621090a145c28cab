package dryrun

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	cpapi "github.com/wasmesh/wasmesh/controlplane/api"
)

// Timeout bounds one dry run (compilation included).
const Timeout = 30 * time.Second

// proxy-wasm ABI values (0.2.x).
const (
	statusOK       = 0
	statusNotFound = 1

	bufferVMConfiguration     = 6
	bufferPluginConfiguration = 7

	rootContextID = 1
)

var logLevels = []string{"trace", "debug", "info", "warn", "error", "critical"}

// Runner dry-runs modules. It caches compiled code across runs. It is safe for concurrent
// use.
type Runner struct {
	cache wazero.CompilationCache
}

var _ cpapi.DryRunner = (*Runner)(nil)

// New returns a Runner with an in-memory compilation cache.
func New() *Runner { return &Runner{cache: wazero.NewCompilationCache()} }

// Close releases the compilation cache.
func (r *Runner) Close(ctx context.Context) error { return r.cache.Close(ctx) }

// run is the state of one dry run.
type run struct {
	mu         sync.Mutex
	logs       []string
	config     []byte
	properties map[string]string
}

func (s *run) log(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, line)
}

// DryRun instantiates module, calls _initialize, creates the root context and runs
// proxy_on_vm_start and proxy_on_configure with config. It returns the plugin's log lines
// ("[level] message", plus anything written to stdout/stderr); the error wraps
// api.ErrPluginRefused when the plugin refuses its configuration.
func (r *Runner) DryRun(ctx context.Context, module []byte, rootID string, config []byte) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(r.cache).WithCloseOnContextDone(true))
	defer rt.Close(context.WithoutCancel(ctx))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("wasi: %w", err)
	}
	compiled, err := rt.CompileModule(ctx, module)
	if err != nil {
		return nil, fmt.Errorf("load module: %w", err)
	}
	st := &run{config: config, properties: map[string]string{"plugin_root_id": rootID, "plugin_name": "dry-run"}}
	if err := hostModule(ctx, rt, compiled, st); err != nil {
		return nil, err
	}
	out := &lineWriter{emit: st.log}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().
		WithName("plugin").WithStartFunctions().WithStdout(out).WithStderr(out).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep())
	if err != nil {
		return st.logs, fmt.Errorf("instantiate module: %w", err)
	}
	call := func(name string, params ...uint64) (uint64, bool, error) {
		fn := mod.ExportedFunction(name)
		if fn == nil {
			return 0, false, nil
		}
		res, err := fn.Call(ctx, params...)
		if err != nil {
			out.Flush()
			return 0, true, fmt.Errorf("%s: the plugin crashed: %w", name, err)
		}
		if len(res) == 0 {
			return 0, true, nil
		}
		return res[0], true, nil
	}
	if _, _, err := call("_initialize"); err != nil {
		return st.logs, err
	}
	for _, name := range []string{"proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", "proxy_on_memory_allocate"} {
		if mod.ExportedFunction(name) == nil {
			return st.logs, fmt.Errorf("not a proxy-wasm module: it does not export %s", name)
		}
	}
	if _, _, err := call("proxy_on_context_create", rootContextID, 0); err != nil {
		return st.logs, err
	}
	ok, _, err := call("proxy_on_vm_start", rootContextID, 0)
	if err != nil {
		return st.logs, err
	}
	if ok == 0 {
		out.Flush()
		return st.logs, errors.New("the plugin's VM failed to start (proxy_on_vm_start returned false)")
	}
	ok, _, err = call("proxy_on_configure", rootContextID, uint64(len(config)))
	out.Flush()
	if err != nil {
		return st.logs, err
	}
	if ok == 0 {
		return st.logs, fmt.Errorf("%w (proxy_on_configure returned false)", cpapi.ErrPluginRefused)
	}
	return st.logs, nil
}

// hostModule defines the "env" imports of the module: the proxy-wasm calls used at plugin
// start, and a succeed-and-do-nothing call for every other import.
func hostModule(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule, st *run) error {
	b := rt.NewHostModuleBuilder("env")
	var metricID uint32
	impl := map[string]api.GoModuleFunc{
		"proxy_log": func(ctx context.Context, m api.Module, s []uint64) {
			level, msg := uint32(s[0]), read(m, uint32(s[1]), uint32(s[2]))
			name := "level" + fmt.Sprint(level)
			if int(level) < len(logLevels) {
				name = logLevels[level]
			}
			st.log("[" + name + "] " + string(msg))
			s[0] = statusOK
		},
		"proxy_get_buffer_bytes": func(ctx context.Context, m api.Module, s []uint64) {
			var data []byte
			switch uint32(s[0]) {
			case bufferPluginConfiguration:
				data = st.config
			case bufferVMConfiguration:
			default:
				s[0] = statusNotFound
				return
			}
			start, max := int(uint32(s[1])), int(uint32(s[2]))
			if start > len(data) {
				start = len(data)
			}
			data = data[start:]
			if max < len(data) {
				data = data[:max]
			}
			if len(data) == 0 {
				s[0] = statusNotFound
				return
			}
			s[0] = returnBytes(ctx, m, data, uint32(s[3]), uint32(s[4]))
		},
		"proxy_get_property": func(ctx context.Context, m api.Module, s []uint64) {
			path := strings.TrimRight(string(read(m, uint32(s[0]), uint32(s[1]))), "\x00")
			if v, ok := st.properties[path]; ok && v != "" {
				s[0] = returnBytes(ctx, m, []byte(v), uint32(s[2]), uint32(s[3]))
				return
			}
			s[0] = statusNotFound
		},
		"proxy_define_metric": func(ctx context.Context, m api.Module, s []uint64) {
			metricID++
			m.Memory().WriteUint32Le(uint32(s[3]), metricID)
			s[0] = statusOK
		},
		"proxy_get_shared_data": func(ctx context.Context, m api.Module, s []uint64) {
			s[0] = statusNotFound
		},
	}
	defined := map[string]bool{}
	for _, imp := range compiled.ImportedFunctions() {
		modName, name, _ := imp.Import()
		if modName != "env" || defined[name] {
			continue
		}
		defined[name] = true
		fn, ok := impl[name]
		var f api.GoModuleFunction = fn
		if !ok {
			results := len(imp.ResultTypes())
			f = api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) {
				if results > 0 {
					s[0] = statusOK
				}
			})
		}
		b.NewFunctionBuilder().WithGoModuleFunction(f, imp.ParamTypes(), imp.ResultTypes()).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("proxy-wasm host: %w", err)
	}
	return nil
}

func read(m api.Module, ptr, size uint32) []byte {
	b, ok := m.Memory().Read(ptr, size)
	if !ok {
		return []byte(fmt.Sprintf("<out of bounds read %d+%d>", ptr, size))
	}
	return append([]byte(nil), b...)
}

// returnBytes copies data into guest memory allocated by the plugin and writes its address and
// size where the plugin asked.
func returnBytes(ctx context.Context, m api.Module, data []byte, retPtr, retSize uint32) uint64 {
	res, err := m.ExportedFunction("proxy_on_memory_allocate").Call(ctx, uint64(len(data)))
	if err != nil || len(res) == 0 {
		return statusNotFound
	}
	ptr := uint32(res[0])
	mem := m.Memory()
	var size [4]byte
	binary.LittleEndian.PutUint32(size[:], uint32(len(data)))
	if !mem.Write(ptr, data) || !mem.WriteUint32Le(retPtr, ptr) || !mem.Write(retSize, size[:]) {
		return statusNotFound
	}
	return statusOK
}

// lineWriter turns stdout/stderr output into log lines.
type lineWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	emit func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	s := w.buf.String()
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.emit("[stdio] " + s[:i])
		s = s[i+1:]
	}
	w.buf.Reset()
	w.buf.WriteString(s)
	return len(p), nil
}

// Flush emits a pending partial line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.emit("[stdio] " + w.buf.String())
		w.buf.Reset()
	}
}

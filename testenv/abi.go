package testenv

import (
	"github.com/wasmesh/wasmesh/testenv/internal/wasmbin"
)

// The host surface stock Envoy 1.40 gives a Wasm module (proxy-wasm-cpp-host as Envoy 1.40
// pins it: src/wasm.cc registerCallbacks, include/proxy-wasm/exports.h). Signatures follow the
// C++ host's declarations (Word = i32, int64_t/uint64_t = i64), which is what V8 checks at link
// time; a few WASI functions are declared there with fewer parameters than WASI defines
// (path_link, path_symlink), so a module using those fails to link in Envoy and here.

const (
	abi010 = "0.1.0"
	abi020 = "0.2.0"
	abi021 = "0.2.1"
)

// abiExports maps the ABI version export to the version.
var abiExports = map[string]string{
	"proxy_abi_version_0_1_0": abi010,
	"proxy_abi_version_0_2_0": abi020,
	"proxy_abi_version_0_2_1": abi021,
}

// sig builds a signature from a compact string: W = i32, l/m = i64; the part after ':' is the
// result ("" = none).
func sig(s string) wasmbin.FuncType {
	var ft wasmbin.FuncType
	res := false
	for _, c := range s {
		var t wasmbin.ValType
		switch c {
		case ':':
			res = true
			continue
		case 'W':
			t = wasmbin.I32
		case 'l', 'm':
			t = wasmbin.I64
		case 'd':
			t = wasmbin.F64
		}
		if res {
			ft.Results = append(ft.Results, t)
		} else {
			ft.Params = append(ft.Params, t)
		}
	}
	return ft
}

// proxyFuncs are the env.proxy_* functions every ABI version gets (FOR_ALL_HOST_FUNCTIONS).
var proxyFuncs = map[string]string{
	"proxy_log":                          "WWW:W",
	"proxy_get_status":                   "WWW:W",
	"proxy_set_property":                 "WWWW:W",
	"proxy_get_property":                 "WWWW:W",
	"proxy_send_local_response":          "WWWWWWWW:W",
	"proxy_get_shared_data":              "WWWWW:W",
	"proxy_set_shared_data":              "WWWWW:W",
	"proxy_register_shared_queue":        "WWW:W",
	"proxy_resolve_shared_queue":         "WWWWW:W",
	"proxy_dequeue_shared_queue":         "WWW:W",
	"proxy_enqueue_shared_queue":         "WWW:W",
	"proxy_get_header_map_value":         "WWWWW:W",
	"proxy_add_header_map_value":         "WWWWW:W",
	"proxy_replace_header_map_value":     "WWWWW:W",
	"proxy_remove_header_map_value":      "WWW:W",
	"proxy_get_header_map_pairs":         "WWW:W",
	"proxy_set_header_map_pairs":         "WWW:W",
	"proxy_get_header_map_size":          "WW:W",
	"proxy_get_buffer_status":            "WWW:W",
	"proxy_get_buffer_bytes":             "WWWWW:W",
	"proxy_set_buffer_bytes":             "WWWWW:W",
	"proxy_http_call":                    "WWWWWWWWWW:W",
	"proxy_grpc_call":                    "WWWWWWWWWWWW:W",
	"proxy_grpc_stream":                  "WWWWWWWWW:W",
	"proxy_grpc_close":                   "W:W",
	"proxy_grpc_cancel":                  "W:W",
	"proxy_grpc_send":                    "WWWW:W",
	"proxy_set_tick_period_milliseconds": "W:W",
	"proxy_get_current_time_nanoseconds": "W:W",
	"proxy_define_metric":                "WWWW:W",
	"proxy_increment_metric":             "Wl:W",
	"proxy_record_metric":                "Wm:W",
	"proxy_get_metric":                   "WW:W",
	"proxy_set_effective_context":        "W:W",
	"proxy_done":                         ":W",
	"proxy_call_foreign_function":        "WWWWWW:W",
	// Registered unconditionally (emscripten/pthread helpers).
	"pthread_equal":                   "WW:W",
	"emscripten_notify_memory_growth": "W:",
}

// abiSpecificFuncs are the env functions registered only for one ABI version.
var abiSpecificFuncs = map[string]map[string]string{
	abi010: {
		"proxy_get_configuration": "WW:W",
		"proxy_continue_request":  ":W",
		"proxy_continue_response": ":W",
		"proxy_clear_route_cache": ":W",
	},
	abi020: {
		"proxy_continue_stream": "W:W",
		"proxy_close_stream":    "W:W",
	},
	abi021: {
		"proxy_continue_stream": "W:W",
		"proxy_close_stream":    "W:W",
		"proxy_get_log_level":   "W:W",
	},
}

// wasiFuncs are the WASI preview1 functions, registered under both wasi_unstable and
// wasi_snapshot_preview1 (FOR_ALL_WASI_FUNCTIONS).
var wasiFuncs = map[string]string{
	"fd_write":                "WWWW:W",
	"fd_read":                 "WWWW:W",
	"fd_seek":                 "WlWW:W",
	"fd_close":                "W:W",
	"fd_fdstat_get":           "WW:W",
	"fd_fdstat_set_flags":     "WW:W",
	"fd_fdstat_set_rights":    "Wmm:W",
	"environ_get":             "WW:W",
	"environ_sizes_get":       "WW:W",
	"args_get":                "WW:W",
	"args_sizes_get":          "WW:W",
	"clock_time_get":          "WmW:W",
	"clock_res_get":           "WW:W",
	"fd_advise":               "WmmW:W",
	"fd_allocate":             "Wmm:W",
	"fd_datasync":             "W:W",
	"fd_filestat_set_size":    "Wm:W",
	"fd_filestat_set_times":   "WmmW:W",
	"fd_pread":                "WWWmW:W",
	"fd_pwrite":               "WWWmW:W",
	"fd_readdir":              "WWWmW:W",
	"fd_renumber":             "WW:W",
	"fd_sync":                 "W:W",
	"fd_tell":                 "WW:W",
	"path_create_directory":   "WWW:W",
	"path_filestat_set_times": "WWWWmmW:W",
	"path_link":               "WWWWWW:W",
	"path_readlink":           "WWWWWW:W",
	"path_remove_directory":   "WWW:W",
	"path_rename":             "WWWWWW:W",
	"path_symlink":            "WWWW:W",
	"path_unlink_file":        "WWW:W",
	"sock_accept":             "WWW:W",
	"sock_recv":               "WWWWWW:W",
	"sock_send":               "WWWWW:W",
	"sock_shutdown":           "WW:W",
	"random_get":              "WW:W",
	"sched_yield":             ":W",
	"poll_oneoff":             "WWWW:W",
	"proc_exit":               "W:",
	"path_open":               "WWWWWllWW:W",
	"fd_prestat_get":          "WW:W",
	"fd_prestat_dir_name":     "WWW:W",
	"path_filestat_get":       "WWWWW:W",
	"fd_filestat_get":         "WW:W",
}

const (
	wasiUnstable = "wasi_unstable"
	wasiSnapshot = "wasi_snapshot_preview1"
)

// hostSignature returns the signature Envoy registers for module.name under the ABI version,
// and false when Envoy provides no such function.
func hostSignature(abi, module, name string) (wasmbin.FuncType, bool) {
	switch module {
	case "env":
		if s, ok := proxyFuncs[name]; ok {
			return sig(s), true
		}
		if s, ok := abiSpecificFuncs[abi][name]; ok {
			return sig(s), true
		}
	case wasiUnstable, wasiSnapshot:
		if s, ok := wasiFuncs[name]; ok {
			return sig(s), true
		}
	}
	return wasmbin.FuncType{}, false
}

// Calls allowed while the VM starts (WasmBase::startVm) and while the host allocates guest
// memory (WasmBase::allocMemory); any other host call traps with "restricted_callback".
var (
	startAllowed = allowSet("env.proxy_log", "env.emscripten_notify_memory_growth",
		"fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get",
		"clock_time_get", "clock_res_get", "random_get", "poll_oneoff", "fd_fdstat_get",
		"fd_fdstat_set_flags", "fd_advise", "fd_allocate", "fd_datasync", "fd_fdstat_set_rights",
		"fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
		"fd_prestat_dir_name", "fd_prestat_get", "fd_pwrite", "fd_readdir", "fd_renumber",
		"fd_sync", "fd_tell", "path_create_directory", "path_filestat_get",
		"path_filestat_set_times", "path_link", "path_readlink", "path_remove_directory",
		"path_rename", "path_symlink", "path_unlink_file", "sock_accept", "sock_recv",
		"sock_send", "sock_shutdown")
	allocAllowed = allowSet("env.proxy_log", "fd_write", "clock_time_get", "poll_oneoff")
)

// allowSet takes env.* names as written and bare WASI names (allowed in both WASI modules).
func allowSet(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		if len(n) > 4 && n[:4] == "env." {
			m[n] = true
			continue
		}
		m[wasiUnstable+"."+n] = true
		m[wasiSnapshot+"."+n] = true
	}
	return m
}

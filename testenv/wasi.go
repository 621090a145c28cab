package testenv

import (
	"crypto/rand"
	"encoding/binary"
)

// WASI errno values.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
	errnoNoent   = 44
	errnoNosys   = 52
	errnoNotdir  = 20
	errnoNotsup  = 58
)

const randomGetMax = 64 * 1024

func ret(s []uint64, errno uint64) { s[0] = errno }

func isStdio(fd uint32) bool { return fd == 1 || fd == 2 }

// wasiImpls behave as proxy-wasm-cpp-host's src/exports.cc wasi_unstable_* functions.
var wasiImpls = map[string]hostFunc{
	"fd_write": func(v *vm, s []uint64) {
		n, errno := writev(v, u32(s[0]), u32(s[1]), u32(s[2]))
		if errno == errnoSuccess && !v.mem.WriteUint32Le(u32(s[3]), n) {
			errno = errnoFault
		}
		ret(s, errno)
	},
	"fd_pwrite": func(v *vm, s []uint64) {
		if !isStdio(u32(s[0])) {
			ret(s, errnoBadf)
			return
		}
		n, errno := writev(v, u32(s[0]), u32(s[1]), u32(s[2]))
		if errno == errnoSuccess && !v.mem.WriteUint32Le(u32(s[4]), n) {
			errno = errnoFault
		}
		ret(s, errno)
	},
	"fd_read":  func(_ *vm, s []uint64) { ret(s, errnoNosys) },
	"fd_pread": func(_ *vm, s []uint64) { ret(s, errnoNosys) },
	"fd_seek": func(v *vm, s []uint64) {
		v.env.log(v.ctxFor().plugin, Trace, []byte("wasi_unstable fd_seek"))
		ret(s, errnoSuccess)
	},
	"fd_close": func(v *vm, s []uint64) {
		v.env.log(v.ctxFor().plugin, Trace, []byte("wasi_unstable fd_close"))
		ret(s, errnoSuccess)
	},
	"fd_fdstat_get": func(v *vm, s []uint64) {
		if !isStdio(u32(s[0])) {
			ret(s, errnoBadf)
			return
		}
		var st [24]byte
		binary.LittleEndian.PutUint64(st[8:], 64) // fs_rights_base = FD_WRITE
		v.mem.Write(u32(s[1]), st[:])
		ret(s, errnoSuccess)
	},
	"fd_fdstat_set_flags":   func(_ *vm, s []uint64) { ret(s, errnoNosys) },
	"fd_fdstat_set_rights":  stdioOnly,
	"fd_advise":             func(_ *vm, s []uint64) { ret(s, errnoSuccess) },
	"fd_allocate":           stdioOnly,
	"fd_datasync":           stdioOnly,
	"fd_sync":               stdioOnly,
	"fd_filestat_set_size":  stdioOnly,
	"fd_filestat_set_times": stdioOnly,
	"fd_filestat_get":       func(_ *vm, s []uint64) { ret(s, errnoBadf) },
	"fd_readdir": func(v *vm, s []uint64) {
		if !v.mem.WriteUint32Le(u32(s[4]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoNotdir)
	},
	"fd_renumber": func(_ *vm, s []uint64) {
		if !isStdio(u32(s[0])) || !isStdio(u32(s[1])) {
			ret(s, errnoBadf)
			return
		}
		ret(s, errnoNotsup)
	},
	"fd_tell": func(v *vm, s []uint64) {
		if !isStdio(u32(s[0])) {
			ret(s, errnoBadf)
			return
		}
		if !v.mem.WriteUint64Le(u32(s[1]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoSuccess)
	},
	"fd_prestat_get":          func(_ *vm, s []uint64) { ret(s, errnoBadf) },
	"fd_prestat_dir_name":     func(_ *vm, s []uint64) { ret(s, errnoNosys) },
	"path_open":               func(_ *vm, s []uint64) { ret(s, errnoNoent) },
	"path_filestat_get":       notsup,
	"path_create_directory":   notsup,
	"path_filestat_set_times": notsup,
	"path_link":               notsup,
	"path_readlink": func(v *vm, s []uint64) {
		if !v.mem.WriteUint32Le(u32(s[5]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoNotsup)
	},
	"path_remove_directory": notsup,
	"path_rename":           notsup,
	"path_symlink":          notsup,
	"path_unlink_file":      notsup,
	"sock_accept": func(v *vm, s []uint64) {
		if !v.mem.WriteUint64Le(u32(s[2]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoNotsup)
	},
	"sock_recv": func(v *vm, s []uint64) {
		if !v.mem.WriteUint32Le(u32(s[4]), 0) || !v.mem.WriteUint16Le(u32(s[5]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoNotsup)
	},
	"sock_send": func(v *vm, s []uint64) {
		if !v.mem.WriteUint32Le(u32(s[4]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoNotsup)
	},
	"sock_shutdown": notsup,
	"environ_get":   func(_ *vm, s []uint64) { ret(s, errnoSuccess) },
	"environ_sizes_get": func(v *vm, s []uint64) {
		if !v.mem.WriteUint32Le(u32(s[0]), 0) || !v.mem.WriteUint32Le(u32(s[1]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoSuccess)
	},
	"args_get": func(_ *vm, s []uint64) { ret(s, errnoSuccess) },
	"args_sizes_get": func(v *vm, s []uint64) {
		if !v.mem.WriteUint32Le(u32(s[0]), 0) || !v.mem.WriteUint32Le(u32(s[1]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoSuccess)
	},
	"clock_time_get": func(v *vm, s []uint64) {
		var t uint64
		switch u32(s[0]) {
		case 0: // realtime
			t = uint64(v.env.clock().UnixNano())
		case 1: // monotonic: the same clock, from an arbitrary origin
			t = uint64(v.env.clock().Sub(v.env.start)) + monotonicOrigin
		default:
			ret(s, errnoNotsup)
			return
		}
		if !v.mem.WriteUint64Le(u32(s[2]), t) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoSuccess)
	},
	"clock_res_get": func(v *vm, s []uint64) {
		if u32(s[0]) > 1 {
			ret(s, errnoNotsup)
			return
		}
		if !v.mem.WriteUint64Le(u32(s[1]), 1) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoSuccess)
	},
	"random_get": func(v *vm, s []uint64) {
		ptr, n := u32(s[0]), u32(s[1])
		if n > randomGetMax {
			ret(s, errnoInval)
			return
		}
		if n == 0 {
			ret(s, errnoSuccess)
			return
		}
		buf := make([]byte, n)
		_, _ = rand.Read(buf)
		if !v.mem.Write(ptr, buf) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoSuccess)
	},
	"sched_yield": func(_ *vm, s []uint64) { ret(s, errnoSuccess) },
	"poll_oneoff": func(v *vm, s []uint64) {
		// Envoy does not poll: no events, success (the Go runtime requires success).
		if !v.mem.WriteUint32Le(u32(s[3]), 0) {
			ret(s, errnoFault)
			return
		}
		ret(s, errnoSuccess)
	},
	"proc_exit": func(v *vm, _ []uint64) {
		// Envoy logs and returns to the module.
		v.env.log(v.ctxFor().plugin, Trace, []byte("wasi_unstable proc_exit"))
	},
}

// monotonicOrigin keeps the monotonic clock clearly apart from the realtime one.
const monotonicOrigin = 1_000_000_000_000

func stdioOnly(_ *vm, s []uint64) {
	if !isStdio(u32(s[0])) {
		ret(s, errnoBadf)
		return
	}
	ret(s, errnoSuccess)
}

func notsup(_ *vm, s []uint64) { ret(s, errnoNotsup) }

// writev turns a write to stdout (info) or stderr (error) into one log line without its
// trailing newline, as Envoy does.
func writev(v *vm, fd, iovs, n uint32) (uint32, uint64) {
	var level LogLevel
	switch fd {
	case 1:
		level = Info
	case 2:
		level = Error
	default:
		return 0, errnoBadf
	}
	var msg []byte
	for i := uint32(0); i < n; i++ {
		iov, ok := v.mem.Read(iovs+i*8, 8)
		if !ok {
			return 0, errnoFault
		}
		ptr, size := binary.LittleEndian.Uint32(iov), binary.LittleEndian.Uint32(iov[4:])
		if size == 0 {
			continue
		}
		b, ok := v.mem.Read(ptr, size)
		if !ok {
			return 0, errnoFault
		}
		msg = append(msg, b...)
	}
	written := uint32(len(msg))
	if written > 0 {
		if msg[len(msg)-1] == '\n' {
			msg = msg[:len(msg)-1]
		}
		var p *plugin
		if c := v.ctxFor(); c != nil {
			p = c.plugin
		}
		v.env.log(p, level, msg)
	}
	return written, errnoSuccess
}

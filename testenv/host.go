package testenv

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// status is a proxy-wasm WasmResult.
type status = uint64

const (
	statusOK                  status = 0
	statusNotFound            status = 1
	statusBadArgument         status = 2
	statusSerializationFailed status = 3
	statusInvalidMemoryAccess status = 6
	statusEmpty               status = 7
	statusCasMismatch         status = 8
	statusUnimplemented       status = 12
)

// Header map and buffer types of ABI 0.2.x.
const (
	mapRequestHeaders          = 0
	mapRequestTrailers         = 1
	mapResponseHeaders         = 2
	mapResponseTrailers        = 3
	mapHTTPCallResponseHeaders = 6
	mapHTTPCallResponseTrailer = 7

	bufRequestBody          = 0
	bufResponseBody         = 1
	bufHTTPCallResponseBody = 4
	bufVMConfiguration      = 6
	bufPluginConfiguration  = 7
	bufCallData             = 8
)

type hostFunc func(v *vm, s []uint64)

// wrapHost adapts an implementation: finds the VM from the call's context, enforces Envoy's
// restricted-callback windows, and decodes nothing else (each implementation reads its i32
// arguments with uint32()).
func wrapHost(full string, fn hostFunc) api.GoModuleFunc {
	idx := hostCallIndex(full)
	return func(ctx context.Context, _ api.Module, stack []uint64) {
		v := ctx.Value(vmKey{}).(*vm)
		v.env.hostCalls[idx]++
		if v.restrict != nil && !v.restrict[full] {
			panic(errTrap{msg: "restricted_callback: " + full + " is not allowed here (Envoy allows only a few calls during VM start and proxy_on_memory_allocate)"})
		}
		fn(v, stack)
	}
}

func u32(x uint64) uint32 { return uint32(x) }

// hostCallNames names the host functions Env.HostCalls counts, by index: proxy_* functions by
// their name, WASI ones as module.name.
var hostCallNames, hostCallIndexes = hostCallTable()

func hostCallTable() ([]string, map[string]int) {
	var names []string
	for n := range proxyFuncs {
		names = append(names, n)
	}
	for _, fns := range abiSpecificFuncs {
		for n := range fns {
			if _, dup := proxyFuncs[n]; !dup && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	for _, m := range []string{wasiUnstable, wasiSnapshot} {
		for n := range wasiFuncs {
			names = append(names, m+"."+n)
		}
	}
	slices.Sort(names)
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	return names, idx
}

// hostCallIndex is the counter index of a host function named module.name.
func hostCallIndex(full string) int {
	i, ok := hostCallIndexes[strings.TrimPrefix(full, "env.")]
	if !ok {
		panic("testenv: no host call counter for " + full)
	}
	return i
}

var hostImpls = map[string]hostFunc{
	"proxy_log":                          hostLog,
	"proxy_get_log_level":                hostGetLogLevel,
	"proxy_get_status":                   hostGetStatus,
	"proxy_set_property":                 hostSetProperty,
	"proxy_get_property":                 hostGetProperty,
	"proxy_send_local_response":          hostSendLocalResponse,
	"proxy_get_shared_data":              hostGetSharedData,
	"proxy_set_shared_data":              hostSetSharedData,
	"proxy_register_shared_queue":        hostRegisterQueue,
	"proxy_resolve_shared_queue":         hostResolveQueue,
	"proxy_dequeue_shared_queue":         hostDequeue,
	"proxy_enqueue_shared_queue":         hostEnqueue,
	"proxy_get_header_map_value":         hostGetHeader,
	"proxy_add_header_map_value":         hostAddHeader,
	"proxy_replace_header_map_value":     hostReplaceHeader,
	"proxy_remove_header_map_value":      hostRemoveHeader,
	"proxy_get_header_map_pairs":         hostGetPairs,
	"proxy_set_header_map_pairs":         hostSetPairs,
	"proxy_get_header_map_size":          hostGetMapSize,
	"proxy_get_buffer_status":            hostGetBufferStatus,
	"proxy_get_buffer_bytes":             hostGetBufferBytes,
	"proxy_set_buffer_bytes":             hostSetBufferBytes,
	"proxy_http_call":                    hostHTTPCall,
	"proxy_grpc_call":                    hostNoGRPC,
	"proxy_grpc_stream":                  hostNoGRPC,
	"proxy_grpc_close":                   hostNoGRPC,
	"proxy_grpc_cancel":                  hostNoGRPC,
	"proxy_grpc_send":                    hostNoGRPC,
	"proxy_set_tick_period_milliseconds": hostSetTick,
	"proxy_get_current_time_nanoseconds": hostGetTime,
	"proxy_define_metric":                hostDefineMetric,
	"proxy_increment_metric":             hostIncrementMetric,
	"proxy_record_metric":                hostRecordMetric,
	"proxy_get_metric":                   hostGetMetric,
	"proxy_set_effective_context":        hostSetEffectiveContext,
	"proxy_done":                         hostDone,
	"proxy_call_foreign_function":        hostCallForeign,
	"proxy_continue_stream":              hostContinueStream,
	"proxy_close_stream":                 hostCloseStream,
	"proxy_get_configuration":            hostGetConfiguration,
	"proxy_continue_request":             func(v *vm, s []uint64) { s[0] = continueStream(v, 0) },
	"proxy_continue_response":            func(v *vm, s []uint64) { s[0] = continueStream(v, 1) },
	"proxy_clear_route_cache":            func(v *vm, s []uint64) { clearRouteCache(v); s[0] = statusOK },
	"pthread_equal": func(_ *vm, s []uint64) {
		if u32(s[0]) == u32(s[1]) {
			s[0] = 1
		} else {
			s[0] = 0
		}
	},
	"emscripten_notify_memory_growth": func(*vm, []uint64) {},
}

func hostLog(v *vm, s []uint64) {
	level, ptr, size := u32(s[0]), u32(s[1]), u32(s[2])
	if level > uint32(Critical) {
		s[0] = statusBadArgument
		return
	}
	msg, ok := v.read(ptr, size)
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	v.env.log(v.ctxFor().plugin, LogLevel(level), msg)
	s[0] = statusOK
}

func hostGetLogLevel(v *vm, s []uint64) {
	// Envoy's default log level for the wasm logger (info); testenv records every level anyway.
	s[0] = v.putU32(u32(s[0]), uint32(Info))
}

func hostGetStatus(v *vm, s []uint64) {
	// The status of the last gRPC call: testenv has no gRPC clusters, so Envoy's initial values.
	if !v.mem.WriteUint32Le(u32(s[0]), 0) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = v.copyOut(nil, u32(s[1]), u32(s[2]))
}

func hostGetConfiguration(v *vm, s []uint64) {
	c := v.ctxFor()
	if c.plugin == nil || !c.plugin.configuring {
		s[0] = statusNotFound
		return
	}
	s[0] = v.copyOut(c.plugin.config, u32(s[0]), u32(s[1]))
}

func hostSetProperty(v *vm, s []uint64) {
	path, ok1 := v.readString(u32(s[0]), u32(s[1]))
	val, ok2 := v.read(u32(s[2]), u32(s[3]))
	if !ok1 || !ok2 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	c := v.ctxFor()
	if c.fs == nil {
		s[0] = statusNotFound
		return
	}
	st := c.fs.s
	if st.setProps == nil {
		st.setProps = map[string][]byte{}
	}
	st.setProps[path] = append([]byte(nil), val...)
	s[0] = statusOK
}

func hostGetProperty(v *vm, s []uint64) {
	path, ok := v.readString(u32(s[0]), u32(s[1]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	if path == "" {
		s[0] = statusBadArgument
		return
	}
	val, found := v.env.property(v.ctxFor(), strings.TrimSuffix(path, "\x00"))
	if !found {
		s[0] = statusNotFound
		return
	}
	s[0] = v.copyOut(val, u32(s[2]), u32(s[3]))
}

func hostSendLocalResponse(v *vm, s []uint64) {
	code := u32(s[0])
	details, ok1 := v.readString(u32(s[1]), u32(s[2]))
	body, ok2 := v.read(u32(s[3]), u32(s[4]))
	hdrs, ok3 := v.read(u32(s[5]), u32(s[6]))
	grpc := int32(u32(s[7]))
	if !ok1 || !ok2 || !ok3 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	pairs, err := decodePairs(hdrs)
	if err != nil {
		s[0] = statusBadArgument
		return
	}
	c := v.ctxFor()
	if c.fs == nil {
		s[0] = statusOK // Envoy: no stream to answer (root context); nothing happens
		return
	}
	body = append([]byte(nil), body...)
	st := c.fs.s
	st.actions = append(st.actions, func() {
		st.localReply(c.fs, int(code), body, pairs, grpc, details)
	})
	s[0] = statusOK
}

func hostGetSharedData(v *vm, s []uint64) {
	key, ok := v.readString(u32(s[0]), u32(s[1]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	val, cas, found := v.env.shared.get(v.vmID + "\x00" + key)
	if !found {
		s[0] = statusNotFound
		return
	}
	if st := v.copyOut(val, u32(s[2]), u32(s[3])); st != statusOK {
		s[0] = st
		return
	}
	s[0] = v.putU32(u32(s[4]), cas)
}

func hostSetSharedData(v *vm, s []uint64) {
	key, ok1 := v.readString(u32(s[0]), u32(s[1]))
	val, ok2 := v.read(u32(s[2]), u32(s[3]))
	if !ok1 || !ok2 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = v.env.shared.set(v.vmID+"\x00"+key, val, u32(s[4]))
}

func hostRegisterQueue(v *vm, s []uint64) {
	name, ok := v.readString(u32(s[0]), u32(s[1]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	e := v.env
	c := v.ctxFor()
	owner := c
	if !c.root && c.plugin != nil {
		owner = c.plugin.root
	}
	k := [2]string{v.vmID, name}
	q := e.queueBy[k]
	if q == nil {
		q = &queue{id: e.nextQ}
		e.nextQ++
		e.queueBy[k] = q
		e.queues[q.id] = q
	}
	q.owner = owner
	s[0] = v.putU32(u32(s[2]), q.id)
}

func hostResolveQueue(v *vm, s []uint64) {
	vmID, ok1 := v.readString(u32(s[0]), u32(s[1]))
	name, ok2 := v.readString(u32(s[2]), u32(s[3]))
	if !ok1 || !ok2 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	q := v.env.queueBy[[2]string{vmID, name}]
	if q == nil {
		s[0] = statusNotFound
		return
	}
	s[0] = v.putU32(u32(s[4]), q.id)
}

func hostDequeue(v *vm, s []uint64) {
	q := v.env.queues[u32(s[0])]
	if q == nil {
		s[0] = statusNotFound
		return
	}
	if len(q.items) == 0 {
		s[0] = statusEmpty
		return
	}
	item := q.items[0]
	q.items = q.items[1:]
	s[0] = v.copyOut(item, u32(s[1]), u32(s[2]))
}

func hostEnqueue(v *vm, s []uint64) {
	e := v.env
	q := e.queues[u32(s[0])]
	data, ok := v.read(u32(s[1]), u32(s[2]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	if q == nil {
		s[0] = statusNotFound
		return
	}
	q.items = append(q.items, append([]byte(nil), data...))
	owner, id := q.owner, q.id
	e.async = append(e.async, func() {
		if owner.dead {
			return
		}
		_, err := owner.vm.call(owner.vm.onQueueReady, owner, uint64(owner.id), uint64(id))
		e.afterCall(err)
	})
	s[0] = statusOK
}

// headerMap returns the map the ABI type names in c, or nil when it is not available.
func headerMap(c *wctx, t uint32) *Headers {
	switch t {
	case mapHTTPCallResponseHeaders:
		if call := rootCall(c); call != nil {
			return &call.headers
		}
		return nil
	case mapHTTPCallResponseTrailer:
		if call := rootCall(c); call != nil {
			return &call.trailers
		}
		return nil
	}
	if c.fs == nil {
		return nil
	}
	st := c.fs.s
	switch t {
	case mapRequestHeaders:
		return &st.reqHeaders
	case mapRequestTrailers:
		if st.reqTrailers != nil {
			return &st.reqTrailers
		}
	case mapResponseHeaders:
		if st.respHeaders != nil {
			return &st.respHeaders
		}
	case mapResponseTrailers:
		if st.respTrailers != nil {
			return &st.respTrailers
		}
	}
	return nil
}

// rootCall is the HTTP call response being delivered: Envoy keeps it on the root context, so a
// plugin that switched to the stream's context (set_effective_context) still reads it.
func rootCall(c *wctx) *callResponse {
	if c.call != nil {
		return c.call
	}
	if c.plugin != nil && c.plugin.root != nil {
		return c.plugin.root.call
	}
	return nil
}

// editedHeaders resolves the header map (type in s[0]) a host call is about to edit; nil,
// with statusBadArgument in s[0], when the current context has no such map.
func (v *vm) editedHeaders(s []uint64) (*wctx, *Headers) {
	c := v.ctxFor()
	m := headerMap(c, u32(s[0]))
	if m == nil {
		s[0] = statusBadArgument
	}
	return c, m
}

// mutated notes a request-header change (Envoy 1.40 picks the route again, unless strict).
func mutated(v *vm, c *wctx, t uint32) {
	if t == mapRequestHeaders && c.fs != nil && !v.env.opts.strictRoute {
		c.fs.s.routeDirty = true
	}
}

func hostGetHeader(v *vm, s []uint64) {
	key, ok := v.viewString(u32(s[1]), u32(s[2]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	m := headerMap(v.ctxFor(), u32(s[0]))
	if m == nil {
		s[0] = statusBadArgument
		return
	}
	key = strings.ToLower(key)
	for _, kv := range *m {
		if kv[0] == key {
			s[0] = v.copyOutString(kv[1], u32(s[3]), u32(s[4]))
			return
		}
	}
	s[0] = statusNotFound
}

func hostAddHeader(v *vm, s []uint64) {
	key, ok1 := v.internString(u32(s[1]), u32(s[2]))
	val, ok2 := v.internString(u32(s[3]), u32(s[4]))
	if !ok1 || !ok2 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	c, m := v.editedHeaders(s)
	if m == nil {
		return
	}
	addHeader(m, strings.ToLower(key), val)
	mutated(v, c, u32(s[0]))
	s[0] = statusOK
}

// addHeader appends, keeping pseudo-headers ahead of the others as Envoy's header map does.
func addHeader(m *Headers, key, val string) {
	if strings.HasPrefix(key, ":") {
		i := 0
		for i < len(*m) && strings.HasPrefix((*m)[i][0], ":") {
			i++
		}
		*m = append(*m, [2]string{})
		copy((*m)[i+1:], (*m)[i:])
		(*m)[i] = [2]string{key, val}
		return
	}
	*m = append(*m, [2]string{key, val})
}

func removeHeader(m *Headers, key string) {
	out := (*m)[:0]
	for _, kv := range *m {
		if kv[0] != key {
			out = append(out, kv)
		}
	}
	*m = out
}

func hostReplaceHeader(v *vm, s []uint64) {
	key, ok1 := v.internString(u32(s[1]), u32(s[2]))
	val, ok2 := v.internString(u32(s[3]), u32(s[4]))
	if !ok1 || !ok2 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	c, m := v.editedHeaders(s)
	if m == nil {
		return
	}
	key = strings.ToLower(key)
	// Envoy's setCopy: the first entry keeps its place with the new value, the others go.
	idx := -1
	for i, kv := range *m {
		if kv[0] == key {
			idx = i
			break
		}
	}
	if idx < 0 {
		addHeader(m, key, val)
	} else {
		(*m)[idx][1] = val
		rest := (*m)[idx+1:]
		removeHeader(&rest, key)
		*m = (*m)[:idx+1+len(rest)]
	}
	mutated(v, c, u32(s[0]))
	s[0] = statusOK
}

func hostRemoveHeader(v *vm, s []uint64) {
	key, ok := v.viewString(u32(s[1]), u32(s[2]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	c, m := v.editedHeaders(s)
	if m == nil {
		return
	}
	removeHeader(m, strings.ToLower(key))
	mutated(v, c, u32(s[0]))
	s[0] = statusOK
}

func hostGetPairs(v *vm, s []uint64) {
	m := headerMap(v.ctxFor(), u32(s[0]))
	if m == nil {
		s[0] = statusBadArgument
		return
	}
	if len(*m) == 0 {
		s[0] = v.copyOut(nil, u32(s[1]), u32(s[2]))
		return
	}
	h := *m
	s[0] = v.copyOutWith(uint32(pairsSize(h)), func(b []byte) { putPairs(b, h) }, u32(s[1]), u32(s[2]))
}

func hostSetPairs(v *vm, s []uint64) {
	data, ok := v.read(u32(s[1]), u32(s[2]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	c, m := v.editedHeaders(s)
	if m == nil {
		return
	}
	pairs, err := decodePairs(data)
	if err != nil {
		s[0] = statusBadArgument
		return
	}
	*m = (*m)[:0]
	for _, kv := range pairs {
		addHeader(m, strings.ToLower(kv[0]), kv[1])
	}
	mutated(v, c, u32(s[0]))
	s[0] = statusOK
}

func hostGetMapSize(v *vm, s []uint64) {
	m := headerMap(v.ctxFor(), u32(s[0]))
	if m == nil {
		s[0] = statusBadArgument
		return
	}
	n := 0
	for _, kv := range *m {
		n += len(kv[0]) + len(kv[1])
	}
	s[0] = v.putU32(u32(s[1]), uint32(n))
}

// encodePairs is the proxy-wasm pairs format: count, then (key size, value size) per pair, then
// each key and value followed by a NUL.
func encodePairs(h Headers) []byte {
	b := make([]byte, pairsSize(h))
	putPairs(b, h)
	return b
}

func pairsSize(h Headers) int {
	size := 4
	for _, kv := range h {
		size += 8 + len(kv[0]) + len(kv[1]) + 2
	}
	return size
}

// putPairs writes h in the pairs format into b (pairsSize(h) bytes).
func putPairs(b []byte, h Headers) {
	binary.LittleEndian.PutUint32(b, uint32(len(h)))
	off := 4
	for _, kv := range h {
		binary.LittleEndian.PutUint32(b[off:], uint32(len(kv[0])))
		binary.LittleEndian.PutUint32(b[off+4:], uint32(len(kv[1])))
		off += 8
	}
	for _, kv := range h {
		off += copy(b[off:], kv[0])
		b[off] = 0
		off += copy(b[off+1:], kv[1]) + 1
		b[off] = 0
		off++
	}
}

type pairsError string

func (e pairsError) Error() string { return string(e) }

func decodePairs(b []byte) (Headers, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, pairsError("pairs: short buffer")
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > 1024 || 4+8*n > len(b) {
		return nil, pairsError("pairs: bad count")
	}
	out := make(Headers, 0, n)
	off := 4 + 8*n
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		if off+kl+1+vl+1 > len(b) {
			return nil, pairsError("pairs: truncated")
		}
		k := string(b[off : off+kl])
		off += kl + 1
		val := string(b[off : off+vl])
		off += vl + 1
		out = append(out, [2]string{k, val})
	}
	return out, nil
}

// buffer returns the buffer the ABI type names in c: a pointer for the mutable body buffers,
// or the bytes of a read-only one.
func buffer(c *wctx, t uint32) (body *[]byte, ro []byte, ok bool) {
	switch t {
	case bufRequestBody, bufResponseBody:
		if c.fs == nil {
			return nil, nil, false
		}
		d := &c.fs.dirs[t]
		if d.cur != nil {
			return d.cur, nil, true
		}
		if d.hasBuffered {
			return &d.buffered, nil, true
		}
	case bufHTTPCallResponseBody:
		if call := rootCall(c); call != nil {
			return nil, call.body, true
		}
	case bufVMConfiguration:
		return nil, c.vm.config, true
	case bufPluginConfiguration:
		if c.plugin != nil && c.plugin.configuring {
			return nil, c.plugin.config, true
		}
	case bufCallData:
		if c.args != nil {
			return nil, c.args, true
		}
	}
	return nil, nil, false
}

func hostGetBufferStatus(v *vm, s []uint64) {
	body, ro, ok := buffer(v.ctxFor(), u32(s[0]))
	if !ok {
		s[0] = statusNotFound
		return
	}
	n := len(ro)
	if body != nil {
		n = len(*body)
	}
	if !v.mem.WriteUint32Le(u32(s[1]), uint32(n)) || !v.mem.WriteUint32Le(u32(s[2]), 0) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = statusOK
}

func hostGetBufferBytes(v *vm, s []uint64) {
	body, data, ok := buffer(v.ctxFor(), u32(s[0]))
	if !ok {
		s[0] = statusNotFound
		return
	}
	if body != nil {
		data = *body
	}
	start, length := uint64(u32(s[1])), uint64(u32(s[2]))
	if start > uint64(len(data)) {
		length = 0
	} else if start+length > uint64(len(data)) {
		length = uint64(len(data)) - start
	}
	if length == 0 {
		s[0] = v.copyOut(nil, u32(s[3]), u32(s[4]))
		return
	}
	s[0] = v.copyOut(data[start:start+length], u32(s[3]), u32(s[4]))
}

func hostSetBufferBytes(v *vm, s []uint64) {
	c := v.ctxFor()
	body, _, ok := buffer(c, u32(s[0]))
	if !ok {
		s[0] = statusNotFound
		return
	}
	data, ok := v.read(u32(s[3]), u32(s[4]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	if body == nil {
		s[0] = statusBadArgument // read-only buffer
		return
	}
	start, length := int(u32(s[1])), int(u32(s[2]))
	// Envoy's Buffer::copyFrom: prepend, replace all, or append; nothing else.
	switch {
	case start == 0 && length == 0:
		*body = append(append([]byte(nil), data...), *body...)
	case start == 0 && length >= len(*body):
		*body = append((*body)[:0:0], data...)
	case start == 0:
		s[0] = statusBadArgument
		return
	case start >= len(*body):
		*body = append(*body, data...)
	default:
		s[0] = statusBadArgument
		return
	}
	s[0] = statusOK
}

// callResponse is what proxy_on_http_call_response can read.
type callResponse struct {
	headers, trailers Headers
	body              []byte
}

func hostHTTPCall(v *vm, s []uint64) {
	cluster, ok1 := v.readString(u32(s[0]), u32(s[1]))
	hb, ok2 := v.read(u32(s[2]), u32(s[3]))
	body, ok3 := v.read(u32(s[4]), u32(s[5]))
	tb, ok4 := v.read(u32(s[6]), u32(s[7]))
	timeout := time.Duration(u32(s[8])) * time.Millisecond
	tokenPtr := u32(s[9])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	e := v.env
	h, known := e.opts.clusters[cluster]
	if !known {
		s[0] = statusBadArgument // Envoy: no such cluster
		return
	}
	hdrs, err1 := decodePairs(hb)
	trls, err2 := decodePairs(tb)
	if err1 != nil || err2 != nil {
		s[0] = statusBadArgument
		return
	}
	req := &UpstreamRequest{Cluster: cluster, Body: append([]byte(nil), body...), Trailers: trls}
	for _, kv := range hdrs {
		k := strings.ToLower(kv[0])
		switch k {
		case ":method":
			req.Method = kv[1]
		case ":path":
			req.Path = kv[1]
		case ":authority", "host":
			req.Authority = kv[1]
		default:
			if !strings.HasPrefix(k, ":") {
				req.Headers = append(req.Headers, [2]string{k, kv[1]})
			}
		}
	}
	if req.Method == "" || req.Path == "" || req.Authority == "" {
		s[0] = statusBadArgument // Envoy requires :method, :path and :authority
		return
	}
	token := e.nextToken
	e.nextToken++
	if !v.mem.WriteUint32Le(tokenPtr, token) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	// Envoy makes the call on the root context (proxy-wasm-cpp-host exports.cc http_call), and
	// proxy_on_http_call_response gets the root context's id.
	c := v.ctxFor()
	if c.plugin != nil && c.plugin.root != nil {
		c = c.plugin.root
	}
	e.calls = append(e.calls, req)
	latency := e.opts.latency[cluster]
	if timeout > 0 && latency > timeout {
		// Envoy answers a timed-out call with the failure callback at the timeout.
		e.after(timeout, func() { e.deliverCall(c, token, func(r *UpstreamRequest) *Response { h(r); return nil }, req) })
	} else {
		e.after(latency, func() { e.deliverCall(c, token, h, req) })
	}
	s[0] = statusOK
}

// deliverCall answers an HTTP call: proxy_on_http_call_response with the handler's response,
// or with no headers and body when the handler gives none (Envoy's failure callback).
func (e *Env) deliverCall(c *wctx, token uint32, h Handler, req *UpstreamRequest) {
	if c.dead || c.vm.failed != nil {
		return
	}
	resp := h(req)
	cr := &callResponse{}
	if resp != nil {
		status := resp.Status
		if status == 0 {
			status = 200
		}
		cr.headers = append(Headers{{":status", itoa(status)}}, lowerHeaders(resp.Headers)...)
		cr.body = resp.Body
		cr.trailers = lowerHeaders(resp.Trailers)
	}
	c.call = cr
	_, err := c.vm.call(c.vm.onHTTPCallResponse, c, uint64(c.id), uint64(token), uint64(len(cr.headers)), uint64(len(cr.body)), uint64(len(cr.trailers)))
	c.call = nil
	e.afterCall(err)
}

func lowerHeaders(h Headers) Headers {
	out := make(Headers, 0, len(h))
	for _, kv := range h {
		out = append(out, [2]string{strings.ToLower(kv[0]), kv[1]})
	}
	return out
}

func hostNoGRPC(_ *vm, s []uint64) {
	// testenv has no gRPC clusters: Envoy answers a call to an unknown cluster this way.
	s[0] = statusBadArgument
}

func hostSetTick(v *vm, s []uint64) {
	c := v.ctxFor()
	p := c.plugin
	if p == nil {
		s[0] = statusBadArgument
		return
	}
	p.tick = time.Duration(u32(s[0])) * time.Millisecond
	p.nextTick = v.env.clock().Add(p.tick)
	s[0] = statusOK
}

func hostGetTime(v *vm, s []uint64) {
	if !v.mem.WriteUint64Le(u32(s[0]), uint64(v.env.clock().UnixNano())) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = statusOK
}

func hostDefineMetric(v *vm, s []uint64) {
	kind := u32(s[0])
	name, ok := v.readString(u32(s[1]), u32(s[2]))
	if !ok {
		s[0] = statusInvalidMemoryAccess
		return
	}
	if kind > 2 {
		s[0] = statusBadArgument
		return
	}
	m, same := v.env.metrics.define(kind, name)
	if !same {
		s[0] = statusBadArgument
		return
	}
	id := uint32(len(v.metricIDs))<<2 | kind
	for existing, em := range v.metricIDs {
		if em == m {
			id = existing
		}
	}
	v.metricIDs[id] = m
	s[0] = v.putU32(u32(s[3]), id)
}

func hostIncrementMetric(v *vm, s []uint64) {
	m := v.metricIDs[u32(s[0])]
	off := int64(s[1])
	if m == nil {
		s[0] = statusNotFound
		return
	}
	st := v.env.metrics
	st.mu.Lock()
	defer st.mu.Unlock()
	switch m.kind {
	case 0:
		if off <= 0 {
			s[0] = statusBadArgument
			return
		}
		m.value += uint64(off)
	case 1:
		if off < 0 && uint64(-off) > m.value {
			m.value = 0
		} else {
			m.value = uint64(int64(m.value) + off)
		}
	default:
		s[0] = statusBadArgument
		return
	}
	s[0] = statusOK
}

func hostRecordMetric(v *vm, s []uint64) {
	m := v.metricIDs[u32(s[0])]
	val := s[1]
	if m == nil {
		s[0] = statusNotFound
		return
	}
	st := v.env.metrics
	st.mu.Lock()
	defer st.mu.Unlock()
	switch m.kind {
	case 0:
		m.value += val
	case 1:
		m.value = val
	case 2:
		m.hist = append(m.hist, float64(val))
	}
	s[0] = statusOK
}

func hostGetMetric(v *vm, s []uint64) {
	m := v.metricIDs[u32(s[0])]
	if m == nil {
		s[0] = statusNotFound
		return
	}
	if m.kind == 2 {
		s[0] = statusBadArgument
		return
	}
	st := v.env.metrics
	st.mu.Lock()
	val := m.value
	st.mu.Unlock()
	if !v.mem.WriteUint64Le(u32(s[1]), val) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = statusOK
}

func hostSetEffectiveContext(v *vm, s []uint64) {
	c := v.contexts[u32(s[0])]
	if c == nil || c.dead {
		s[0] = statusBadArgument
		return
	}
	v.effective = c
	s[0] = statusOK
}

func hostDone(v *vm, s []uint64) {
	c := v.ctxFor()
	if c.plugin == nil || !c.plugin.pendingDone {
		s[0] = statusNotFound
		return
	}
	c.plugin.pendingDone = false
	p := c.plugin
	v.env.async = append(v.env.async, func() {
		_, _ = p.vm.call(p.vm.onDelete, p.root, uint64(p.root.id))
	})
	s[0] = statusOK
}

func hostContinueStream(v *vm, s []uint64) { s[0] = continueStream(v, u32(s[0])) }

func continueStream(v *vm, t uint32) status {
	if t > 1 {
		return statusBadArgument // no TCP streams in testenv
	}
	c := v.ctxFor()
	if c.fs == nil || c.fs.s.finished {
		return statusOK // Envoy: no stream callbacks on this context, nothing to continue
	}
	fs := c.fs
	fs.s.actions = append(fs.s.actions, func() { fs.s.resume(fs, int(t)) })
	return statusOK
}

func hostCloseStream(v *vm, s []uint64) {
	t := u32(s[0])
	if t > 1 {
		s[0] = statusBadArgument
		return
	}
	c := v.ctxFor()
	if c.fs != nil && !c.fs.s.finished {
		st := c.fs.s
		name := c.plugin.name
		st.actions = append(st.actions, func() { st.reset(name) })
	}
	s[0] = statusOK
}

func clearRouteCache(v *vm) {
	v.env.clearRouteCalls++
	if c := v.current; c != nil && c.fs != nil {
		c.fs.s.routeDirty = true
	}
}

// foreignFuncs are the foreign functions stock Envoy 1.40 registers.
var foreignFuncs = map[string]func(v *vm, args []byte) ([]byte, status){
	"clear_route_cache": func(v *vm, _ []byte) ([]byte, status) {
		clearRouteCache(v)
		return nil, statusOK
	},
	"compress": func(_ *vm, args []byte) ([]byte, status) {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		_, _ = w.Write(args)
		if w.Close() != nil {
			return nil, statusSerializationFailed
		}
		return b.Bytes(), statusOK
	},
	"uncompress": func(_ *vm, args []byte) ([]byte, status) {
		r, err := zlib.NewReader(bytes.NewReader(args))
		if err != nil {
			return nil, statusSerializationFailed
		}
		out, err := io.ReadAll(r)
		if err != nil {
			return nil, statusSerializationFailed
		}
		return out, statusOK
	},
	// Registered in Envoy; not modelled by testenv.
	"set_envoy_filter_state": unimplementedForeign,
	"declare_property":       unimplementedForeign,
	"verify_signature":       unimplementedForeign,
	"sign":                   unimplementedForeign,
	"expr_create":            unimplementedForeign,
	"expr_evaluate":          unimplementedForeign,
	"expr_delete":            unimplementedForeign,
}

func unimplementedForeign(*vm, []byte) ([]byte, status) { return nil, statusUnimplemented }

func hostCallForeign(v *vm, s []uint64) {
	name, ok1 := v.readString(u32(s[0]), u32(s[1]))
	args, ok2 := v.read(u32(s[2]), u32(s[3]))
	if !ok1 || !ok2 {
		s[0] = statusInvalidMemoryAccess
		return
	}
	f := foreignFuncs[name]
	if f == nil {
		s[0] = statusNotFound
		return
	}
	out, st := f(v, append([]byte(nil), args...))
	resPtr, resSize := u32(s[4]), u32(s[5])
	var ptr uint32
	if len(out) > 0 && resPtr != 0 {
		p, ok := v.alloc(uint32(len(out)))
		if !ok {
			s[0] = statusInvalidMemoryAccess
			return
		}
		v.mem.Write(p, out)
		ptr = p
	}
	if resPtr != 0 && !v.mem.WriteUint32Le(resPtr, ptr) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	if resSize != 0 && !v.mem.WriteUint32Le(resSize, uint32(len(out))) {
		s[0] = statusInvalidMemoryAccess
		return
	}
	s[0] = st
}

// putU32 writes a result the guest asked for at ptr: statusOK, or statusInvalidMemoryAccess
// when ptr is outside its memory.
func (v *vm) putU32(ptr, val uint32) uint64 {
	if !v.mem.WriteUint32Le(ptr, val) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

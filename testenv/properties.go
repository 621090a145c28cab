package testenv

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// Addresses of the simulated connection (override with WithProperty).
const (
	sourceAddress      = "10.0.0.2"
	sourcePort         = 45678
	destinationAddress = "10.0.0.1"
	destinationPort    = 15001
	upstreamAddress    = "10.0.0.3"
	upstreamPort       = 8080
)

func i64(v int64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(v))
	return b
}

// property answers get_property the way Envoy serializes attributes: strings as bytes,
// numbers as 8-byte little-endian integers, timestamps and durations as int64 nanoseconds,
// maps as proxy-wasm pairs. path is the NUL-joined path.
func (e *Env) property(c *wctx, path string) ([]byte, bool) {
	if v, ok := e.opts.properties[path]; ok {
		return v, true
	}
	var s *stream
	if c != nil && c.fs != nil {
		s = c.fs.s
		if v, ok := s.setProps[path]; ok {
			return v, true
		}
	}
	parts := strings.Split(path, "\x00")
	str := func(v string) ([]byte, bool) { return []byte(v), true }
	switch parts[0] {
	case "plugin_name":
		if c != nil && c.plugin != nil {
			return str(c.plugin.name)
		}
	case "plugin_root_id":
		if c != nil && c.plugin != nil {
			return str(c.plugin.rootID)
		}
	case "plugin_vm_id":
		if c != nil {
			return str(c.vm.vmID)
		}
	case "node":
		// Envoy 1.40 has no bare "node" property (measured): the node is xds.node.
		return nil, false
	case "xds":
		if len(parts) >= 3 && parts[1] == "node" {
			if e.opts.nodeMetadata == nil {
				return nil, false // not a sidecar (a dry run): no node
			}
			return e.nodeProperty(parts[2:])
		}
		if len(parts) == 2 && parts[1] == "node" {
			return nil, false // the whole node message: not modelled
		}
		if len(parts) == 2 && s != nil {
			switch parts[1] {
			case "route_name":
				_, name := s.route()
				return str(name)
			case "cluster_name":
				cluster, _ := s.route()
				return str(cluster)
			}
		}
	case "route_name":
		if s != nil && len(parts) == 1 {
			_, name := s.route()
			return str(name)
		}
	case "cluster_name":
		if s != nil && len(parts) == 1 {
			cluster, _ := s.route()
			return str(cluster)
		}
	case "source":
		if s != nil && len(parts) == 2 {
			switch parts[1] {
			case "address":
				return str(sourceAddress + ":" + strconv.Itoa(sourcePort))
			case "port":
				return i64(sourcePort), true
			}
		}
	case "destination":
		if s != nil && len(parts) == 2 {
			switch parts[1] {
			case "address":
				return str(destinationAddress + ":" + strconv.Itoa(destinationPort))
			case "port":
				return i64(destinationPort), true
			}
		}
	case "upstream":
		if s != nil && s.upstream != nil && len(parts) == 2 {
			switch parts[1] {
			case "address":
				return str(upstreamAddress + ":" + strconv.Itoa(upstreamPort))
			case "port":
				return i64(upstreamPort), true
			}
		}
	case "connection":
		if s != nil && len(parts) == 2 {
			switch parts[1] {
			case "id":
				return i64(1), true
			case "mtls":
				if s.conn != nil && s.conn.MTLS {
					return []byte{1}, true
				}
				return []byte{0}, true
			case "uri_san_peer_certificate":
				// Envoy answers only on a TLS connection whose peer certificate has a URI SAN.
				if s.conn != nil && s.conn.MTLS && s.conn.PeerURISAN != "" {
					return str(s.conn.PeerURISAN)
				}
				return nil, false
			}
		}
	case "request":
		if s != nil {
			return s.requestProperty(parts[1:])
		}
	case "response":
		if s != nil && s.respHeaders != nil {
			return s.responseProperty(parts[1:])
		}
	}
	return nil, false
}

func (e *Env) nodeProperty(parts []string) ([]byte, bool) {
	if len(parts) == 0 {
		return nil, false
	}
	switch parts[0] {
	case "id":
		if len(parts) == 1 {
			return []byte(e.opts.nodeID), true
		}
	case "cluster":
		if len(parts) == 1 {
			return []byte(e.opts.nodeMetadata["service"]), true
		}
	case "metadata":
		if len(parts) == 2 {
			if v, ok := e.opts.nodeMetadata[parts[1]]; ok {
				return []byte(v), true
			}
		}
	}
	return nil, false
}

func headerProperty(h Headers, parts []string) ([]byte, bool) {
	if len(parts) == 0 {
		return encodePairs(h), true
	}
	if len(parts) == 1 {
		for _, kv := range h {
			if kv[0] == strings.ToLower(parts[0]) {
				return []byte(kv[1]), true
			}
		}
	}
	return nil, false
}

func (s *stream) requestProperty(parts []string) ([]byte, bool) {
	if len(parts) == 0 {
		return nil, false
	}
	h := s.reqHeaders
	get := func(name string) ([]byte, bool) {
		v := h.Get(name)
		if v == "" {
			return nil, false
		}
		return []byte(v), true
	}
	switch parts[0] {
	case "headers":
		return headerProperty(h, parts[1:])
	}
	if len(parts) != 1 {
		return nil, false
	}
	switch parts[0] {
	case "path":
		return get(":path")
	case "url_path":
		p, _, _ := strings.Cut(h.Get(":path"), "?")
		return []byte(p), true
	case "query":
		_, q, _ := strings.Cut(h.Get(":path"), "?")
		return []byte(q), true
	case "host":
		return get(":authority")
	case "scheme":
		return get(":scheme")
	case "method":
		return get(":method")
	case "referer":
		return get("referer")
	case "useragent":
		return get("user-agent")
	case "id":
		return get("x-request-id")
	case "protocol":
		return []byte("HTTP/1.1"), true
	case "time":
		return i64(s.start.UnixNano()), true
	case "duration":
		if s.end.IsZero() {
			return nil, false
		}
		return i64(int64(s.end.Sub(s.start))), true
	case "size":
		return i64(int64(s.reqBytes)), true
	case "total_size":
		n := s.reqBytes
		for _, kv := range h {
			n += len(kv[0]) + len(kv[1])
		}
		return i64(int64(n)), true
	}
	return nil, false
}

func (s *stream) responseProperty(parts []string) ([]byte, bool) {
	if len(parts) == 0 {
		return nil, false
	}
	switch parts[0] {
	case "headers":
		return headerProperty(s.respHeaders, parts[1:])
	case "trailers":
		return headerProperty(s.respTrailers, parts[1:])
	}
	if len(parts) != 1 {
		return nil, false
	}
	switch parts[0] {
	case "code":
		code, _ := strconv.Atoi(s.respHeaders.Get(":status"))
		return i64(int64(code)), true
	case "code_details":
		return []byte(s.codeDetails), true
	case "flags":
		return i64(int64(s.responseFlags)), true
	case "grpc_status":
		g := s.respHeaders.Get("grpc-status")
		if g == "" {
			g = s.respTrailers.Get("grpc-status")
		}
		if g == "" {
			return nil, false
		}
		n, _ := strconv.Atoi(g)
		return i64(int64(n)), true
	case "size":
		return i64(int64(s.respBytes)), true
	case "total_size":
		n := s.respBytes
		for _, kv := range s.respHeaders {
			n += len(kv[0]) + len(kv[1])
		}
		return i64(int64(n)), true
	}
	return nil, false
}

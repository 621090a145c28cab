package testenv

import (
	"encoding/hex"
	"math/rand/v2"
	"sort"
)

// knownMethods are the methods Envoy 1.40's HTTP/1 codec (balsa, without
// allow_custom_methods) accepts, sorted; anything else, "get" included, is refused.
var knownMethods = []string{
	"ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK",
	"MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "MSEARCH", "NOTIFY", "OPTIONS",
	"PATCH", "POST", "PROPFIND", "PROPPATCH", "PURGE", "PUT", "REBIND", "REPORT", "SEARCH",
	"SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK", "UNLOCK", "UNSUBSCRIBE",
}

// codecRefusal is Envoy's answer to a request its HTTP/1 codec refuses before the connection
// manager creates a stream (no filter runs): 400 "Bad Request". nil when the codec accepts it.
func codecRefusal(req Request) *Result {
	m := req.Method
	if m == "" {
		return nil // GET
	}
	if i := sort.SearchStrings(knownMethods, m); i < len(knownMethods) && knownMethods[i] == m {
		return nil
	}
	return &Result{
		Response: Response{Status: 400, Headers: Headers{{"content-length", "11"}, {"content-type", "text/plain"}, {"connection", "close"}},
			Body: []byte("Bad Request")},
		Details: "http1.codec_error",
	}
}

// uuid4 is a random UUID version 4, as Envoy's connection manager generates for x-request-id.
func uuid4() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rand.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

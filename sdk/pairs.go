package sdk

import (
	"encoding/binary"
	"errors"
	"unsafe"
)

// parsePairs decodes a proxy-wasm header map (count, then a key and a value size per pair,
// then each key and value followed by a NUL) into pairs whose strings view b.
func parsePairs(b []byte) ([][2]string, error) {
	if len(b) < 4 {
		return nil, errors.New("malformed header map: shorter than its count")
	}
	n := int(binary.LittleEndian.Uint32(b))
	sizes := 4
	data := 4 + 8*n
	if n < 0 || n > len(b)/8 || data > len(b) {
		return nil, errors.New("malformed header map: count past the end")
	}
	out := make([][2]string, n)
	for i := 0; i < n; i++ {
		for j := 0; j < 2; j++ {
			l := int(binary.LittleEndian.Uint32(b[sizes:]))
			sizes += 4
			if l < 0 || data+l+1 > len(b) {
				return nil, errors.New("malformed header map: a string past the end")
			}
			if l > 0 {
				out[i][j] = unsafe.String(&b[data], l)
			}
			data += l + 1
		}
	}
	return out, nil
}

package sdk

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

func encodePairs(hs [][2]string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(hs)))
	for _, kv := range hs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[0])))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[1])))
	}
	for _, kv := range hs {
		b = append(append(b, kv[0]...), 0)
		b = append(append(b, kv[1]...), 0)
	}
	return b
}

func TestParsePairs(t *testing.T) {
	hs := [][2]string{{":method", "GET"}, {":path", "/"}, {"x-empty", ""}, {"host", "reviews"}}
	got, err := parsePairs(encodePairs(hs))
	require.NoError(t, err)
	require.Equal(t, hs, got)

	got, err = parsePairs(encodePairs(nil))
	require.NoError(t, err)
	require.Empty(t, got)

	good := encodePairs(hs)
	for _, bad := range [][]byte{nil, {1, 0}, good[:len(good)-3], binary.LittleEndian.AppendUint32(nil, 1<<30)} {
		_, err := parsePairs(bad)
		require.Error(t, err, "%v", bad)
	}
}

func FuzzParsePairs(f *testing.F) {
	f.Add(encodePairs([][2]string{{"a", "b"}}))
	f.Add([]byte{2, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := parsePairs(b) // never panics, never reads past b
		if err == nil {
			enc := encodePairs(hs)
			require.LessOrEqual(t, len(enc), len(b), "a decoded map fits in its input")
			require.Equal(t, b[:4+8*len(hs)], enc[:4+8*len(hs)], "count and sizes as read")
		}
	})
}

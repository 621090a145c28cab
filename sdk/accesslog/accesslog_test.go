package accesslog

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestWriter(t *testing.T) {
	b := Object([]byte("prefix ")).String("s", "a\"b\n<").Int("i", -3).Float("f", 1.25).Bool("b", true).
		Time("t", time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.FixedZone("x", 3600))).Close()
	require.Equal(t, `prefix {"s":"a\"b\n\u003c","i":-3,"f":1.25,"b":true,"t":"2026-01-02T02:04:05.006Z"}`, string(b))
	var m map[string]any
	require.NoError(t, json.Unmarshal(b[len("prefix "):], &m))
	require.Equal(t, "a\"b\n<", m["s"])
	require.Equal(t, "{}", string(Object(nil).Close()))
}

func ExampleObject() {
	var buf []byte // reuse across requests
	buf = Object(buf[:0]).String("method", "GET").Int("status", 200).Close()
	fmt.Println(string(buf))
	// Output: {"method":"GET","status":200}
}

func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -7200)),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		require.Equal(t, tm.UTC().Format("2006-01-02T15:04:05.000Z07:00"), string(AppendTime(nil, tm)))
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain /é€😀", `"plain /é€😀"`},
		{"\"\\\b\f\n\r\t\x00\x1f\x7f", `"\"\\\b\f\n\r\t\u0000\u001f` + "\x7f" + `"`},
		{"<a href='x'>&</a>", `"\u003ca href='x'\u003e\u0026\u003c/a\u003e"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"\xff\xc3(", "\"\ufffd\ufffd(\""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, string(appendString([]byte("x"), tt.in)[1:]))
		})
	}
}

// FuzzAppendString holds appendString to gjson.AppendJSONString (what the writer used before),
// byte for byte, and checks that encoding/json reads the string back.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f<>&", "é\u2028\u2029😀", "\xff\xed\xa0\x80\xf4\x90\x80\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		require.Equal(t, string(gjson.AppendJSONString(nil, s)), string(got))
		var back string
		require.NoError(t, json.Unmarshal(got, &back), "%s", got)
		require.Equal(t, []rune(s), []rune(back), "every byte that is not UTF-8 reads back as U+FFFD")
	})
}

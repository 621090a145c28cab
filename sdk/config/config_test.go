package config

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	var errs Errors
	root, ok := Parse([]byte(`{"name":"a","n":3,"f":1.5,"b":true,"list":["x","y"],"d":"200ms","obj":{"k":1,"extra":2},"arr":[{"k":"v"}],"nil":null,"unknown":1}`), &errs)
	require.True(t, ok)
	var name string
	var n int
	var f float64
	var b bool
	var list []string
	require.True(t, root.String("name", &name))
	require.True(t, root.Int("n", &n))
	require.True(t, root.Number("f", &f))
	require.True(t, root.Bool("b", &b))
	require.True(t, root.Strings("list", &list))
	dv, _ := root.Get("d")
	d, ok := dv.Duration()
	require.True(t, ok)
	require.Equal(t, 200*time.Millisecond, d)
	obj, ok := root.Object("obj")
	require.True(t, ok)
	obj.Int("k", &n)
	obj.Close()
	arr, ok := root.Array("arr")
	require.True(t, ok)
	require.Equal(t, "arr[0]", arr[0].Path)
	_, ok = root.Get("nil")
	require.False(t, ok, "null counts as absent")
	root.Close()
	require.Equal(t, []any{"a", 1, 1.5, true, []string{"x", "y"}}, []any{name, n, f, b, list})
	require.EqualError(t, errs.Err(), "obj.extra: unknown key\nunknown: unknown key")
}

func TestWrongTypes(t *testing.T) {
	var errs Errors
	root, _ := Parse([]byte(`{"s":1,"i":1.5,"b":"yes","o":[],"a":{},"d":"soon","l":[1]}`), &errs)
	var s string
	var i int
	var b bool
	var l []string
	root.String("s", &s)
	root.Int("i", &i)
	root.Bool("b", &b)
	root.Object("o")
	root.Array("a")
	dv, _ := root.Get("d")
	dv.Duration()
	root.Strings("l", &l)
	root.Close()
	require.EqualError(t, errs.Err(), "s: want a string, got a number\n"+
		"i: want an integer, got 1.5\n"+
		"b: want a boolean, got a string\n"+
		"o: want an object, got an array\n"+
		"a: want an array, got an object\n"+
		`d: invalid duration "soon" (want a Go duration such as "200ms")`+"\n"+
		"l[0]: want a string, got a number")
}

func TestParseRoot(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, ""},
		{`  `, ""},
		{`{}`, ""},
		{`{`, "configuration is not valid JSON"},
		{`[]`, "want an object, got an array"},
		{`"x"`, "want an object, got a string"},
		{`{"a":1,"a":2}`, "a: duplicate key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var errs Errors
			root, _ := Parse([]byte(tt.in), &errs)
			if tt.want == "" {
				require.NoError(t, errs.Err())
				require.Zero(t, root.Len())
				return
			}
			require.EqualError(t, errs.Err(), tt.want)
		})
	}
}

func TestDecodeServices(t *testing.T) {
	decode := func(o Object) string {
		var s string
		o.String("v", &s)
		o.Close()
		return s
	}
	tests := []struct {
		in       string
		policy   string
		services map[string]string
		err      string
	}{
		{`{"v":"all"}`, "all", nil, ""},
		{`{"services":{"a":{"v":"1"},"b":{}}}`, "", map[string]string{"a": "1", "b": ""}, ""},
		{`{"services":{"a":{"w":1}},"v":"x"}`, "", map[string]string{"a": ""}, "v: unknown key (a config with \"services\" holds nothing else)\nservices.a.w: unknown key"},
		{`{"services":{"a b":[]}}`, "", map[string]string{}, "services.a b: service name: must not contain '|', ':', ';', '=', ',', quotes or spaces\nservices.a b: want an object, got an array"},
		{`{"services":null}`, "", nil, "services: want an object, got null"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var errs Errors
			root, _ := Parse([]byte(tt.in), &errs)
			p, s := DecodeServices(root, decode)
			require.Equal(t, tt.policy, p)
			require.Equal(t, tt.services, s)
			if tt.err == "" {
				require.NoError(t, errs.Err())
			} else {
				require.EqualError(t, errs.Err(), tt.err)
			}
		})
	}
}

func ExampleParse() {
	var errs Errors
	root, ok := Parse([]byte(`{"header": "X-Api-Key", "keys": ["k1"], "colour": "red"}`), &errs)
	if ok {
		var header string
		var keys []string
		root.String("header", &header)
		root.Strings("keys", &keys)
		root.Close() // "colour" is unknown
	}
	fmt.Println(errs.Err())
	// Output: colour: unknown key
}

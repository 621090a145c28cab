package config

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestParseJSONValues(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want node
	}{
		{"null", ` null `, node{kind: kindNull, raw: "null"}},
		{"true", `true`, node{kind: kindBool, truth: true, raw: "true"}},
		{"false", "\t\r\nfalse\n", node{kind: kindBool, raw: "false"}},
		{"integer", `-12`, node{kind: kindNumber, num: -12, raw: "-12"}},
		{"negative zero", `-0`, node{kind: kindNumber, num: math.Copysign(0, -1), raw: "-0"}},
		{"fraction and exponent", `1.25E+2`, node{kind: kindNumber, num: 125, raw: "1.25E+2"}},
		{"out of range is infinite", `-1e400`, node{kind: kindNumber, num: math.Inf(-1), raw: "-1e400"}},
		{"plain string", `"a b/c"`, node{kind: kindString, str: "a b/c", raw: `"a b/c"`}},
		{"escapes", `"\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC"`, node{kind: kindString, str: "\"\\/\b\f\n\r\tAé€", raw: `"\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC"`}},
		{"surrogate pair", `"\ud83d\ude00"`, node{kind: kindString, str: "😀", raw: `"\ud83d\ude00"`}},
		{"lone high surrogate", `"\ud83dx"`, node{kind: kindString, str: "\ufffdx", raw: `"\ud83dx"`}},
		{"high surrogate then a non-surrogate escape", `"\ud83d\u0041"`, node{kind: kindString, str: "\ufffdA", raw: `"\ud83d\u0041"`}},
		{"lone low surrogate", `"\ude00"`, node{kind: kindString, str: "\ufffd", raw: `"\ude00"`}},
		{"bytes that are not UTF-8 are kept", "\"\xff\xfe\"", node{kind: kindString, str: "\xff\xfe", raw: "\"\xff\xfe\""}},
		{"and kept beside an escape", "\"\xff\\n\"", node{kind: kindString, str: "\xff\n", raw: "\"\xff\\n\""}},
		{"array", `[ 1 , "a" ,[]]`, node{kind: kindArray, raw: `[ 1 , "a" ,[]]`, elems: []node{
			{kind: kindNumber, num: 1, raw: "1"},
			{kind: kindString, str: "a", raw: `"a"`},
			{kind: kindArray, raw: "[]"},
		}}},
		{"object keeps order and duplicates", `{"b":1, "a" : {"x":null},"b":2}`, node{kind: kindObject, raw: `{"b":1, "a" : {"x":null},"b":2}`,
			keys: []string{"b", "a", "b"},
			elems: []node{
				{kind: kindNumber, num: 1, raw: "1"},
				{kind: kindObject, raw: `{"x":null}`, keys: []string{"x"}, elems: []node{{kind: kindNull, raw: "null"}}},
				{kind: kindNumber, num: 2, raw: "2"},
			}}},
		{"escaped key", `{"a\u0062":true}`, node{kind: kindObject, raw: `{"a\u0062":true}`, keys: []string{"ab"}, elems: []node{{kind: kindBool, truth: true, raw: "true"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseJSON([]byte(tt.in))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			requireSameAsGJSON(t, &got, gjson.Parse(tt.in), true)
		})
	}
}

func TestParseJSONInvalid(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{a:1}`, `{'a':1}`,
		`[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `[1]]`, `{} {}`, `1 2`, `{}x`,
		`01`, `-`, `-a`, `+1`, `1.`, `.5`, `1e`, `1e+`, `1.e3`, `0x1`, `NaN`, `Infinity`, `-Infinity`,
		`tru`, `truex`, `nul`, `nulll`, `False`, `None`,
		`"abc`, `"\"`, `"\x"`, `"\u12"`, `"\u12g4"`, `"\ud83d\u"`, "\"a\tb\"", "\"\x00\"", "\"\x1f\"",
		"\ufeff{}", "{}\x00", "\f{}", "{\v}",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := parseJSON([]byte(in))
			require.Equal(t, ErrInvalidJSON, err)
			require.False(t, json.Valid([]byte(in)), "encoding/json agrees")
			require.False(t, gjson.ValidBytes([]byte(in)), "gjson agreed")
		})
	}
}

func TestParseJSONDepth(t *testing.T) {
	nest := func(depth int) []byte {
		return []byte(strings.Repeat(`{"a":[`, depth/2) + strings.Repeat(`]}`, depth/2))
	}
	n, err := parseJSON(nest(maxDepth))
	require.NoError(t, err)
	require.Equal(t, kindObject, n.kind)
	require.True(t, json.Valid(nest(maxDepth)))

	for _, in := range [][]byte{nest(maxDepth + 2), []byte(strings.Repeat("[", 1<<20))} {
		_, err = parseJSON(in)
		require.EqualError(t, err, "configuration is not valid JSON: arrays and objects nest deeper than 10000 levels")
		require.ErrorIs(t, err, ErrInvalidJSON)
		require.False(t, json.Valid(in))
	}

	var errs Errors
	_, ok := Parse([]byte(strings.Repeat("[", maxDepth+1)), &errs)
	require.False(t, ok)
	require.ErrorIs(t, errs.Err(), ErrInvalidJSON)
}

func TestValueRaw(t *testing.T) {
	var errs Errors
	root, ok := Parse([]byte(`{"config": {"rules" : [ {"a":1} ]}, "n": 1.50, "s": "x\ty", "z": null}`), &errs)
	require.True(t, ok)
	for key, want := range map[string]string{"config": `{"rules" : [ {"a":1} ]}`, "n": "1.50", "s": `"x\ty"`} {
		v, ok := root.Get(key)
		require.True(t, ok)
		require.Equal(t, want, v.Raw(), key)
	}
	v, ok := root.Get("z")
	require.False(t, ok)
	require.Equal(t, "", v.Raw(), "null counts as absent")
	require.Equal(t, "", Value{}.Raw())
	root.Each(func(k string, v Value) {
		if k == "z" {
			require.Equal(t, "null", v.Raw())
		}
	})
}

// FuzzParse holds the parser to encoding/json on which documents are JSON, and to gjson (which
// sdk/config was built on) on what every value decodes to.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../filters/*/testdata/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, s := range []string{
		`{"a":[1,-2.5e-3,true,false,null,"x\u00e9\ud83d\ude00\n"],"b":{"c":{}},"a":"dup"}`,
		`"\ud800\udc00\udbff\udfff\ud800\u0041"`, "[\"\xff\xc3\x28\", 0, -0.0e0]", `[[[[[]]]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseJSON(data)
		valid := json.Valid(data)
		if err != nil {
			require.False(t, valid, "refused valid JSON (%v): %q", err, data)
			require.ErrorIs(t, err, ErrInvalidJSON)
			require.Equal(t, errors.Is(err, errTooDeep), gjson.ValidBytes(data), "only depth separates us from gjson: %q", data)
			return
		}
		require.True(t, valid, "accepted invalid JSON: %q", data)
		require.True(t, gjson.ValidBytes(data), "gjson refused: %q", data)
		requireSameAsGJSON(t, &n, gjson.ParseBytes(data), true)
	})
}

// requireSameAsGJSON checks that n decodes as gjson decoded r: type, text, string, number, keys
// in order (duplicates included) and elements. The root's Raw differs (gjson keeps what follows
// the value), so root skips it.
func requireSameAsGJSON(t *testing.T, n *node, r gjson.Result, root bool) {
	t.Helper()
	if !root {
		require.Equal(t, r.Raw, n.raw)
	}
	require.Equal(t, typeName(n), gjsonTypeName(r), "%s", n.raw)
	switch n.kind {
	case kindString:
		require.Equal(t, r.Str, n.str)
	case kindNumber:
		require.Equal(t, math.Float64bits(r.Num), math.Float64bits(n.num), "%s", n.raw)
	case kindBool:
		require.Equal(t, r.Bool(), n.truth)
	case kindArray:
		arr := r.Array()
		require.Len(t, n.elems, len(arr))
		for i := range arr {
			requireSameAsGJSON(t, &n.elems[i], arr[i], false)
		}
	case kindObject:
		i := 0
		r.ForEach(func(k, v gjson.Result) bool {
			require.Less(t, i, len(n.keys))
			require.Equal(t, k.String(), n.keys[i])
			requireSameAsGJSON(t, &n.elems[i], v, false)
			i++
			return true
		})
		require.Len(t, n.keys, i)
	}
}

// gjsonTypeName is typeName as sdk/config computed it on gjson.
func gjsonTypeName(r gjson.Result) string {
	switch {
	case r.IsObject():
		return "an object"
	case r.IsArray():
		return "an array"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	case r.IsBool():
		return "a boolean"
	case r.Type == gjson.Null:
		return "null"
	}
	return "nothing"
}

package tracecontext

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", false},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false},
		{"", false},
		{"garbage", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, ok := Parse(tt.in)
			require.Equal(t, tt.ok, ok)
			if ok && tt.in[:2] == "00" {
				require.Equal(t, tt.in, p.String())
			}
		})
	}
}

func TestChildAndNew(t *testing.T) {
	p, ok := Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	require.True(t, ok)
	c := p.Child()
	require.Equal(t, p.TraceID, c.TraceID)
	require.NotEqual(t, p.SpanID, c.SpanID)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", c.TraceIDString())
	n1, n2 := New(), New()
	require.NotEqual(t, n1.TraceID, n2.TraceID)
	_, ok = Parse(n1.String())
	require.True(t, ok)
	require.Equal(t, byte(1), n1.Flags)
}

func TestNewRequestID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewRequestID()
		require.Regexp(t, re, id)
		require.False(t, seen[id])
		seen[id] = true
	}
}

func ExampleParse() {
	in, ok := Parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if !ok {
		in = New() // no valid incoming context: start a trace
	}
	out := in.Child() // same trace, new span for the upstream hop
	fmt.Println(out.TraceIDString(), out.Flags)
	// Output: 4bf92f3577b34da6a3ce929d0e0e4736 1
}

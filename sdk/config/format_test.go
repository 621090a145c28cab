package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type stringer struct{}

func (stringer) String() string { return "str\"inger" }

// TestErrorfMatchesFmt holds Errorf to fmt.Errorf for every verb and type it supports: the
// built-in filters' and SDK's error messages read exactly as they did with fmt.
func TestErrorfMatchesFmt(t *testing.T) {
	err := errors.New("inner \"x\"")
	tests := []struct {
		format string
		args   []any
	}{
		{"plain", nil},
		{"100%% sure", nil},
		{"%s|%v|%q", []any{"a\tb", "é", "a\"b\x01é"}},
		{"%d|%v|%d|%v", []any{-3, 7, int64(math.MinInt64), uint64(math.MaxUint64)}},
		{"%d %d %d %d %d %d %d %d %d %d", []any{int8(-1), int16(2), int32(3), uint(4), uint8(5), uint16(6), uint32(7), uintptr(8), int(9), int64(10)}},
		{"%v|%v|%v|%v|%v|%v", []any{1.5, 1e21, 1e-7, math.Inf(-1), float32(0.1), 100.0}},
		{"%v|%v", []any{true, false}},
		{"%v|%s|%q|%d", []any{200 * time.Millisecond, 30 * time.Second, time.Minute, 2 * time.Second}},
		{"%v|%s|%q", []any{err, err, err}},
		{"%v|%s", []any{stringer{}, stringer{}}},
		{"%v|%s|%q|%v", []any{[]string{"a", "b c"}, []string{"x"}, []string{"q\"", ""}, []string{}}},
		{"%v", []any{nil}},
		{"%s|%d|%w", []any{nil, nil, nil}},
		{"missing %s and %d", []any{"one"}},
		{"trailing %", nil},
		{"rules[%d].delay.fixed: %w", []any{2, err}},
		{"%w: abort=%s: want an HTTP status 200..599", []any{err, "x"}},
		{"%w and %w", []any{err, fs.ErrNotExist}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			want := fmt.Errorf(tt.format, tt.args...)
			got := Errorf(tt.format, tt.args...)
			require.Equal(t, want.Error(), got.Error())
			require.Equal(t, errors.Unwrap(want), errors.Unwrap(got))
			if j, ok := want.(interface{ Unwrap() []error }); ok {
				require.Equal(t, j.Unwrap(), got.(interface{ Unwrap() []error }).Unwrap())
			}
			require.Equal(t, errors.Is(want, err), errors.Is(got, err))
			require.Equal(t, errors.Is(want, fs.ErrNotExist), errors.Is(got, fs.ErrNotExist))
		})
	}
}

func TestErrorfUnsupported(t *testing.T) {
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"%v", []any{struct{ A int }{1}}, "%!v(unsupported)"},
		{"%s", []any{3}, "%!s(unsupported)"},
		{"%q", []any{1.5}, "%!q(unsupported)"},
		{"%w", []any{"not an error"}, "%!w(unsupported)"},
		{"%5d", []any{3}, "%!5(unsupported)d"},
		{"%s", []any{"a", "b"}, "a%!(EXTRA)"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			require.EqualError(t, Errorf(tt.format, tt.args...), tt.want)
		})
	}
	require.NotSame(t, Errorf("x"), Errorf("x"), "each call is its own error, as with fmt.Errorf")
}

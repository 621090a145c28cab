package split

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStickySplit(t *testing.T) {
	const n = 10000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i)
	}
	tests := []struct {
		name    string
		weights map[string]int
	}{
		{"90/10", map[string]int{"v1": 90, "v2": 10}},
		{"50/50", map[string]int{"v1": 50, "v2": 50}},
		{"70/20/10", map[string]int{"v1": 70, "v2": 20, "v3": 10}},
		{"100/0", map[string]int{"v1": 100, "v2": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(tt.weights)
			got := map[string]int{}
			for _, k := range keys {
				got[w.PickKey(k)]++
			}
			for v, want := range tt.weights {
				pct := 100 * float64(got[v]) / n
				require.LessOrEqual(t, math.Abs(pct-float64(want)), 1.5, "version %s: %.2f%% of keys, want %d%% ± 1.5", v, pct, want)
			}
		})
	}
}

func TestStickyRampMovesFewKeys(t *testing.T) {
	const n = 10000
	tests := []struct {
		name     string
		from, to map[string]int
		maxMoved float64 // percent of keys
	}{
		{"v2 10 to 20", map[string]int{"v1": 90, "v2": 10}, map[string]int{"v1": 80, "v2": 20}, 11},
		{"v2 20 to 50", map[string]int{"v1": 80, "v2": 20}, map[string]int{"v1": 50, "v2": 50}, 31.5},
		{"canary named before stable", map[string]int{"canary": 10, "stable": 90}, map[string]int{"canary": 20, "stable": 80}, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := New(tt.from), New(tt.to)
			moved := 0
			for i := range n {
				k := fmt.Sprintf("key-%d", i)
				va, vb := a.PickKey(k), b.PickKey(k)
				if va != vb {
					moved++
					// A moved key only ever goes to a version whose weight grew.
					require.Greater(t, tt.to[vb], tt.from[vb], "key %s moved %s -> %s", k, va, vb)
				}
			}
			pct := 100 * float64(moved) / n
			t.Logf("%s: %.2f%% of %d keys moved", tt.name, pct, n)
			require.LessOrEqual(t, pct, tt.maxMoved)
			require.Positive(t, moved)
		})
	}
}

func TestPickStable(t *testing.T) {
	w := New(map[string]int{"v1": 90, "v2": 10})
	for i := range 100 {
		k := "k" + strconv.Itoa(i)
		require.Equal(t, w.PickKey(k), w.PickKey(k))
	}
	require.Equal(t, "", New(nil).PickKey("x"))
	require.Equal(t, []string{"v1"}, New(map[string]int{"v1": 100, "v2": 0}).Versions())
}

func TestRandomSplit(t *testing.T) {
	w := New(map[string]int{"v1": 90, "v2": 10})
	n, v2 := 20000, 0
	for range n {
		if w.PickRandom() == "v2" {
			v2++
		}
	}
	require.InDelta(t, 10, 100*float64(v2)/float64(n), 1.5)
}

func TestChance(t *testing.T) {
	require.False(t, Chance(0))
	require.True(t, Chance(100))
	n, hit := 20000, 0
	for range n {
		if Chance(25) {
			hit++
		}
	}
	require.InDelta(t, 25, 100*float64(hit)/float64(n), 1.5)
}

func BenchmarkPickKey(b *testing.B) {
	w := New(map[string]int{"v1": 90, "v2": 10})
	for b.Loop() {
		_ = w.PickKey("user-123456")
	}
}

func ExampleWeighted_PickKey() {
	w := New(map[string]int{"v1": 90, "v2": 10})
	// A sticky key (a user id from a header or cookie) always lands on the same version.
	first := w.PickKey("user-7")
	fmt.Println(first, w.PickKey("user-7"), w.PickKey("user-1"))
	// Output: v2 v2 v1
}

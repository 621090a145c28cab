package config

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPerService(t *testing.T) {
	double := func(n int) int { return 2 * n }
	tests := []struct {
		name     string
		policy   int
		services map[string]int
		service  string
		want     int
		wantOK   bool
		each     []int
	}{
		{"one policy for every service", 1, nil, "reviews", 2, true, []int{2}},
		{"map: the service's policy", 0, map[string]int{"reviews": 3, "ratings": 4}, "ratings", 8, true, []int{6, 8}},
		{"map without the service: pass through", 0, map[string]int{"reviews": 3}, "ratings", 0, false, []int{6}},
		{"empty map: nothing applies", 5, map[string]int{}, "reviews", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := CompilePerService(tt.policy, tt.services, double)
			got, ok := s.For(tt.service)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
			var each []int
			s.Each(func(n int) { each = append(each, n) })
			sort.Ints(each)
			require.Equal(t, tt.each, each)
		})
	}
}

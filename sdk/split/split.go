package split

import (
	"math/rand/v2"
	"sort"
)

// Resolution is the number of points the [0, 100) percent range is cut into.
const Resolution = 10000

// Weighted picks a version by weight. The zero value picks nothing ("").
type Weighted struct {
	versions []string
	bounds   []uint32 // cumulative upper bounds in points, ascending; last = Resolution
}

// New builds a Weighted from percentages (summing to 100); versions are ordered by name, and
// a version with weight 0 gets no slice.
func New(weights map[string]int) *Weighted {
	names := make([]string, 0, len(weights))
	total := 0
	for v, w := range weights {
		names = append(names, v)
		total += w
	}
	sort.Strings(names)
	w := &Weighted{}
	if total <= 0 {
		return w
	}
	cum := 0
	for _, v := range names {
		if weights[v] <= 0 {
			continue
		}
		cum += weights[v]
		w.versions = append(w.versions, v)
		w.bounds = append(w.bounds, uint32(cum*Resolution/total))
	}
	return w
}

// Versions returns the versions with a non-zero weight, in slice order.
func (w *Weighted) Versions() []string { return w.versions }

// Pick returns the version owning point p (0 <= p < Resolution).
func (w *Weighted) Pick(p uint32) string {
	for i, b := range w.bounds {
		if p < b {
			return w.versions[i]
		}
	}
	if n := len(w.versions); n > 0 {
		return w.versions[n-1]
	}
	return ""
}

// PickKey returns the version a sticky key lands on.
func (w *Weighted) PickKey(key string) string { return w.Pick(Point(key)) }

// PickRandom returns a version drawn at random by weight.
func (w *Weighted) PickRandom() string { return w.Pick(uint32(rand.IntN(Resolution))) }

// Point hashes key to a point in [0, Resolution): FNV-1a 64 followed by the SplitMix64
// finalizer, so similar keys ("user-1", "user-2") spread evenly. It does not allocate.
func Point(key string) uint32 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return uint32(h % Resolution)
}

// Chance reports true with the given probability in percent (0–100, fractions allowed).
func Chance(percent float64) bool {
	switch {
	case percent <= 0:
		return false
	case percent >= 100:
		return true
	}
	return rand.Float64()*100 < percent
}

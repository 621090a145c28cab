// Package split chooses among weighted versions deterministically. A sticky key (a header or
// cookie value) is hashed to a point in [0, 100) percent, and the versions own consecutive
// slices of that range in version order, each as wide as its weight. Raising v2 from 10 to 20
// moves only the keys in the slice v2 gained (consistent hashing on one dimension), and the
// same key always lands on the same version while the weights stay.
package split

// Package store keeps the applied wasmesh resources in an embedded bbolt database in a data
// directory. Every apply is one transaction (all documents or none), validated against the
// stored state inside that transaction; each resource carries a generation (bumped when its
// spec changes) and the global resource version of its last change. Subscribers are told the
// new revision after each change, so the translator can rebuild snapshots.
package store

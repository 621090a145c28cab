//go:build !wasip1

package sdk

import "time"

// now reads the wall clock (natively: time.Now).
func now() time.Time { return time.Now() }

package crd

import "errors"

// ErrUnknownKind is returned for a kind that is not one of Kinds().
var ErrUnknownKind = errors.New("unknown kind")

// Package memmodules is an in-memory module store for the control plane's tests: the
// api.ModuleStore (and admission.Modules) a test server or pipeline runs on, content-addressed
// by sha256 like the real one (controlplane/modules.go).
package memmodules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/wasmesh/wasmesh/controlplane/store"
)

// Store holds modules in memory. The zero value is empty and ready.
type Store struct {
	// Check, when set, refuses content Put must not store (the real store's wasm header check).
	Check func(data []byte) error

	mu sync.Mutex
	m  map[string][]byte
}

// Put stores r's content under its sha256; want, when given, must be that sha256.
func (s *Store) Put(_ context.Context, r io.Reader, want string) (string, int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", 0, err
	}
	if s.Check != nil {
		if err := s.Check(data); err != nil {
			return "", 0, err
		}
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if want != "" && sha != want {
		return "", 0, fmt.Errorf("the module has sha256 %s, not %s", sha, want)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[sha] = data
	return sha, int64(len(data)), nil
}

// Has reports whether the module is stored.
func (s *Store) Has(sha string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[sha]
	return ok
}

// Get returns a stored module, or an error wrapping store.ErrNotFound.
func (s *Store) Get(sha string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.m[sha]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("module %s: %w", sha, store.ErrNotFound)
}

// Delete forgets a module (a test that needs it fetched again).
func (s *Store) Delete(sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha)
}

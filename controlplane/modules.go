package controlplane

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/wasmesh/wasmesh/controlplane/api"
)

// dirModules is a content-addressed module store in a directory (<sha256>.wasm files), plus
// read-only built-in modules indexed from another directory. It serves GET /modules/<sha256>.
type dirModules struct {
	dir string

	mu       sync.Mutex
	builtins map[string]string // sha256 → file
	names    map[string]string // file base name → sha256
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func newDirModules(dir, builtinDir string) (*dirModules, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("modules: %w", err)
	}
	m := &dirModules{dir: dir, builtins: map[string]string{}, names: map[string]string{}}
	if builtinDir == "" {
		return m, nil
	}
	files, err := filepath.Glob(filepath.Join(builtinDir, "*.wasm"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("modules: %w", err)
		}
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		m.builtins[sha] = f
		m.names[filepath.Base(f)] = sha
	}
	return m, nil
}

// Builtins returns the built-in modules' file names → sha256.
func (m *dirModules) Builtins() map[string]string { return m.names }

func (m *dirModules) Put(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	m.mu.Lock()
	defer m.mu.Unlock()
	p := filepath.Join(m.dir, sha+".wasm")
	if _, err := os.Stat(p); err == nil {
		return sha, nil // the bytes under a name never change
	}
	tmp, err := os.CreateTemp(m.dir, ".upload-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return sha, os.Rename(tmp.Name(), p)
}

func (m *dirModules) Get(sha string) ([]byte, error) {
	if !shaRE.MatchString(sha) {
		return nil, fmt.Errorf("module %q: %w", sha, api.ErrNotFound)
	}
	p := filepath.Join(m.dir, sha+".wasm")
	if f, ok := m.builtins[sha]; ok {
		p = f
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("module %s: %w", sha, api.ErrNotFound)
	}
	return data, err
}

// ServeHTTP serves GET /modules/<sha256>.
func (m *dirModules) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sha := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/modules/"), ".wasm")
	data, err := m.Get(sha)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/wasm")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(data)
}

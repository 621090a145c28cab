package controlplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/api"
)

// ModuleLimits bound the module store.
type ModuleLimits struct {
	// Uploads is how many modules are stored at once (uploads and downloads); more wait
	// (default 2).
	Uploads int
	// Storage bounds the bytes of the stored modules (default 1 GiB). When a module would
	// exceed it, the modules no resource references (and older than GCGrace) are deleted
	// first; if that is not enough the module is refused.
	Storage int64
	// GCGrace keeps an unreferenced module at least this long after it was stored: `wasmesh
	// apply` uploads a module before the apply that references it (default 15 minutes).
	GCGrace time.Duration
}

func (l ModuleLimits) withDefaults() ModuleLimits {
	if l.Uploads <= 0 {
		l.Uploads = 2
	}
	if l.Storage <= 0 {
		l.Storage = 1 << 30
	}
	if l.GCGrace <= 0 {
		l.GCGrace = 15 * time.Minute
	}
	return l
}

// dirModules is a content-addressed module store in a directory (<sha256>.wasm files), plus
// read-only built-in modules indexed from another directory. It serves GET /modules/<sha256>.
// A module is streamed to a temporary file while it is hashed, never held in memory.
type dirModules struct {
	dir        string
	limits     ModuleLimits
	referenced func() (map[string]bool, error) // sha256s the stored resources reference
	now        func() time.Time
	slots      chan struct{}

	mu       sync.Mutex        // guards the directory's contents while a module is committed or collected
	builtins map[string]string // sha256 → file
	names    map[string]string // file base name → sha256
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

var _ api.ModuleStore = (*dirModules)(nil)

func newDirModules(dir, builtinDir string, limits ModuleLimits, referenced func() (map[string]bool, error)) (*dirModules, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("modules: %w", err)
	}
	limits = limits.withDefaults()
	m := &dirModules{dir: dir, limits: limits, referenced: referenced, now: time.Now,
		slots: make(chan struct{}, limits.Uploads), builtins: map[string]string{}, names: map[string]string{}}
	// Leftovers of uploads cut short by a crash.
	if tmps, err := filepath.Glob(filepath.Join(dir, ".upload-*")); err == nil {
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
	if builtinDir == "" {
		return m, nil
	}
	files, err := filepath.Glob(filepath.Join(builtinDir, "*.wasm"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("modules: %w", err)
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("modules: %w", err)
		}
		sha := hex.EncodeToString(h.Sum(nil))
		m.builtins[sha] = f
		m.names[filepath.Base(f)] = sha
	}
	return m, nil
}

// Builtins returns the built-in modules' file names → sha256.
func (m *dirModules) Builtins() map[string]string { return m.names }

// Put implements api.ModuleStore: at most limits.Uploads modules are written at once; the
// first bytes must be the Wasm header; the bytes are hashed while they go to a temporary
// file, which becomes <sha256>.wasm once complete (and checked against want).
func (m *dirModules) Put(ctx context.Context, r io.Reader, want string) (string, int64, error) {
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return "", 0, ctx.Err()
	}
	defer func() { <-m.slots }()

	var head [8]byte
	if n, err := io.ReadFull(r, head[:]); err != nil || !bytes.Equal(head[:4], []byte("\x00asm")) {
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return "", 0, fmt.Errorf("read module: %w", err)
		}
		_ = n
		return "", 0, api.ErrNotWasm
	}
	tmp, err := os.CreateTemp(m.dir, ".upload-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	h := sha256.New()
	src := io.MultiReader(bytes.NewReader(head[:]), io.LimitReader(r, api.MaxModuleBytes-int64(len(head))+1))
	size, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, src})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("read module: %w", err)
	case size > api.MaxModuleBytes:
		return "", 0, api.ErrTooLarge
	}
	sha := hex.EncodeToString(h.Sum(nil))
	if want != "" && sha != want {
		return "", 0, fmt.Errorf("the module has sha256 %s, not %s", sha, want)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := filepath.Join(m.dir, sha+".wasm")
	if _, err := os.Stat(p); err == nil {
		return sha, size, nil // the bytes under a name never change
	}
	if err := m.makeRoomLocked(size); err != nil {
		return "", 0, err
	}
	return sha, size, os.Rename(tmp.Name(), p)
}

// makeRoomLocked makes sure size more bytes fit the storage limit, collecting unreferenced
// modules past their grace period if needed.
func (m *dirModules) makeRoomLocked(size int64) error {
	used, files, err := m.usageLocked()
	if err != nil {
		return err
	}
	if used+size <= m.limits.Storage {
		return nil
	}
	freed, err := m.collectLocked(files)
	if err != nil {
		return err
	}
	if used-freed+size > m.limits.Storage {
		return fmt.Errorf("%w: %d MiB stored (limit %d MiB) and a %d MiB module; the stored modules are all referenced or uploaded in the last %s: delete WasmPlugins, or raise the limit",
			api.ErrStorageFull, (used-freed)>>20, m.limits.Storage>>20, size>>20, m.limits.GCGrace)
	}
	return nil
}

type storedModule struct {
	sha     string
	size    int64
	modTime time.Time
}

func (m *dirModules) usageLocked() (int64, []storedModule, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return 0, nil, err
	}
	var used int64
	var out []storedModule
	for _, e := range entries {
		sha, ok := strings.CutSuffix(e.Name(), ".wasm")
		if !ok || !shaRE.MatchString(sha) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		used += info.Size()
		out = append(out, storedModule{sha, info.Size(), info.ModTime()})
	}
	return used, out, nil
}

// collectLocked deletes the stored modules no resource references, older than GCGrace, and
// returns the bytes freed.
func (m *dirModules) collectLocked(files []storedModule) (int64, error) {
	if m.referenced == nil {
		return 0, nil
	}
	refs, err := m.referenced()
	if err != nil {
		return 0, fmt.Errorf("module garbage collection: %w", err)
	}
	var freed int64
	for _, f := range files {
		if refs[f.sha] || m.now().Sub(f.modTime) < m.limits.GCGrace {
			continue
		}
		if err := os.Remove(filepath.Join(m.dir, f.sha+".wasm")); err == nil {
			freed += f.size
		}
	}
	return freed, nil
}

// Collect deletes the modules no resource references (older than GCGrace) and returns how
// many bytes it freed.
func (m *dirModules) Collect() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, files, err := m.usageLocked()
	if err != nil {
		return 0, err
	}
	return m.collectLocked(files)
}

// ctxReader stops a copy when ctx ends (the client of an upload went away).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (m *dirModules) path(sha string) (string, error) {
	if !shaRE.MatchString(sha) {
		return "", fmt.Errorf("module %q: %w", sha, api.ErrNotFound)
	}
	if f, ok := m.builtins[sha]; ok {
		return f, nil
	}
	return filepath.Join(m.dir, sha+".wasm"), nil
}

// Has implements api.ModuleStore.
func (m *dirModules) Has(sha string) bool {
	p, err := m.path(sha)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Get implements api.ModuleStore.
func (m *dirModules) Get(sha string) ([]byte, error) {
	p, err := m.path(sha)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("module %s: %w", sha, api.ErrNotFound)
	}
	return data, err
}

// ServeHTTP serves GET /modules/<sha256> from the file (no copy in memory).
func (m *dirModules) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sha := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/modules/"), ".wasm")
	p, err := m.path(sha)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	f, err := os.Open(p)
	if err != nil {
		http.Error(w, fmt.Sprintf("module %s: %v", sha, api.ErrNotFound), http.StatusNotFound)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/wasm")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", info.ModTime(), f)
}

package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// fakeModule streams n bytes of a Wasm-looking module without holding them: the header, then
// a pattern derived from seed.
type fakeModule struct {
	n, off int64
	seed   byte
}

func (f *fakeModule) Read(p []byte) (int, error) {
	if f.off >= f.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.n-f.off)]
	for i := range p {
		if o := f.off + int64(i); o < 8 {
			p[i] = "\x00asm\x01\x00\x00\x00"[o]
		} else {
			p[i] = byte(o*31) ^ f.seed
		}
	}
	f.off += int64(len(p))
	return len(p), nil
}

func fakeSHA(n int64, seed byte) string {
	h := sha256.New()
	_, _ = io.Copy(h, &fakeModule{n: n, seed: seed})
	return hex.EncodeToString(h.Sum(nil))
}

// heapPeak samples the Go heap in use until stop is closed and returns the highest value.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// UploadHeapBound is the bound on the control plane's heap growth while four 60 MB modules
// are uploaded at once (issue 10: buffered whole, they took it from 63 MB to 544 MB RSS).
const UploadHeapBound = 32 << 20

// Issue 10, item 5: four concurrent 60 MB uploads are streamed to disk while hashed: the
// heap stays within UploadHeapBound of where it started, and each module is stored whole.
func TestConcurrentLargeUploadsStayBounded(t *testing.T) {
	cp, err := Start(context.Background(), Config{DataDir: t.TempDir(), HTTPAddress: "127.0.0.1:0", XDSAddress: "127.0.0.1:0"})
	require.NoError(t, err)
	defer func() { require.NoError(t, cp.Close()) }()
	const size, uploads = 60 << 20, 4

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse
	stop := make(chan struct{})
	peak := heapPeak(stop)
	shas := make([]string, uploads)
	errs := make([]error, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shas[i], errs[i] = cp.Client().PutModuleFrom(context.Background(), &fakeModule{n: size, seed: byte(i)})
		}()
	}
	wg.Wait()
	close(stop)
	p := <-peak
	for i := range uploads {
		require.NoError(t, errs[i])
		require.Equal(t, fakeSHA(size, byte(i)), shas[i])
		info, err := os.Stat(filepath.Join(cp.DataDir, "modules", shas[i]+".wasm"))
		require.NoError(t, err)
		require.EqualValues(t, size, info.Size())
	}
	t.Logf("heap in use: %d MiB before, peak %d MiB during %d concurrent %d MiB uploads (bound: +%d MiB)",
		before>>20, p>>20, uploads, size>>20, UploadHeapBound>>20)
	require.Less(t, p, before+UploadHeapBound, "heap grew by %d MiB", (p-before)>>20)
}

// The Wasm header is checked on the first bytes; a module over MaxModuleBytes is refused;
// nothing is left behind.
func TestUploadRefusals(t *testing.T) {
	cp, err := Start(context.Background(), Config{DataDir: t.TempDir(), HTTPAddress: "127.0.0.1:0", XDSAddress: "127.0.0.1:0"})
	require.NoError(t, err)
	defer func() { require.NoError(t, cp.Close()) }()
	ctx := context.Background()
	_, err = cp.Client().PutModuleFrom(ctx, io.MultiReader(strings.NewReader("MZ not wasm"), &fakeModule{n: 10 << 20}))
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusBadRequest, ae.StatusCode)
	require.EqualError(t, err, `not a Wasm module (no \0asm header)`)

	_, err = cp.Client().PutModuleFrom(ctx, &fakeModule{n: api.MaxModuleBytes + 1})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusRequestEntityTooLarge, ae.StatusCode)
	require.EqualError(t, err, "read module: module larger than 64 MiB")
	left, err := os.ReadDir(filepath.Join(cp.DataDir, "modules"))
	require.NoError(t, err)
	require.Empty(t, left)
}

// The module storage limit: unreferenced modules past their grace period are collected to
// make room; referenced (or recent) ones are kept, and a module that still does not fit is
// refused with 507 and a message saying what to do.
func TestModuleStorageLimitAndGC(t *testing.T) {
	dir := t.TempDir()
	refs := map[string]bool{}
	var mu sync.Mutex
	m, err := newDirModules(filepath.Join(dir, "m"), "", ModuleLimits{Storage: 3 << 20, GCGrace: time.Hour}, func() (map[string]bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return refs, nil
	})
	require.NoError(t, err)
	now := time.Now()
	m.now = func() time.Time { return now }
	ctx := context.Background()
	put := func(seed byte) (string, error) {
		sha, _, err := m.Put(ctx, &fakeModule{n: 1 << 20, seed: seed}, "")
		return sha, err
	}
	a, err := put(1)
	require.NoError(t, err)
	b, err := put(2)
	require.NoError(t, err)
	c, err := put(3)
	require.NoError(t, err)
	_, err = put(4) // full, and every module is within its grace period
	require.ErrorIs(t, err, api.ErrStorageFull)
	require.ErrorContains(t, err, "module storage is full: 3 MiB stored (limit 3 MiB) and a 1 MiB module; the stored modules are all referenced or uploaded in the last 1h0m0s: delete WasmPlugins, or raise the limit")

	now = now.Add(2 * time.Hour)
	mu.Lock()
	refs[a], refs[c] = true, true
	mu.Unlock()
	d, err := put(4) // b is unreferenced and old: collected to make room
	require.NoError(t, err)
	require.True(t, m.Has(a))
	require.False(t, m.Has(b), "the unreferenced module was kept")
	require.True(t, m.Has(c))
	require.True(t, m.Has(d))
	now = time.Now()
	_, err = put(5) // a, c referenced; d recent
	require.ErrorIs(t, err, api.ErrStorageFull)
}

// At most ModuleLimits.Uploads modules are written at once; more wait for a slot (or for
// their client to give up).
func TestModuleUploadSlots(t *testing.T) {
	m, err := newDirModules(t.TempDir(), "", ModuleLimits{Uploads: 1}, nil)
	require.NoError(t, err)
	started, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _, _ = m.Put(context.Background(), io.MultiReader(strings.NewReader("\x00asm\x01\x00\x00\x00"), blockingReader{started, release}), "")
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err = m.Put(ctx, &fakeModule{n: 100}, "")
	require.ErrorIs(t, err, context.DeadlineExceeded, "a second upload got a slot while the first held the only one")
	close(release)
	_, _, err = m.Put(context.Background(), &fakeModule{n: 100}, "")
	require.NoError(t, err)
}

type blockingReader struct{ started, release chan struct{} }

func (b blockingReader) Read([]byte) (int, error) {
	close(b.started)
	<-b.release
	return 0, io.EOF
}

// The plugin config limit is enforced on apply with the field path (crd validation).
func TestPluginConfigLimitOnApply(t *testing.T) {
	cp, err := Start(context.Background(), Config{DataDir: t.TempDir(), HTTPAddress: "127.0.0.1:0", XDSAddress: "127.0.0.1:0"})
	require.NoError(t, err)
	defer func() { require.NoError(t, cp.Close()) }()
	sha, err := cp.Client().PutModuleFrom(context.Background(), &fakeModule{n: 64})
	require.NoError(t, err)
	big := strings.Repeat("x", 20<<20) // the report's 20 MB config
	docs := []crd.Document{{Source: "p.yaml", Object: &crd.WasmPlugin{
		TypeMeta: crd.TypeMeta{APIVersion: crd.APIVersion, Kind: crd.KindWasmPlugin},
		Metadata: crd.ObjectMeta{Name: "big"},
		Spec:     crd.WasmPluginSpec{Module: crd.Module{SHA256: sha}, Config: []byte(`"` + big + `"`)},
	}}}
	_, err = cp.Client().Apply(context.Background(), docs, false)
	require.ErrorContains(t, err, `spec.config: 20971522 bytes, more than the limit of 262144 (256 KiB)`)
	set, _, err := cp.Store.List()
	require.NoError(t, err)
	require.Empty(t, set.WasmPlugins)
}

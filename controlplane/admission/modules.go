package admission

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/store"
)

// Modules is what the module fetch and dry run stages need of the control plane's module
// store (api.ModuleStore): modules by SHA-256 (hex), whose bytes never change.
type Modules interface {
	// Has reports whether the store holds a module.
	Has(sha256 string) bool
	// Get returns the bytes of a module.
	Get(sha256 string) ([]byte, error)
	// Put stores the module r streams, which must have the SHA-256 want; it bounds the size.
	Put(ctx context.Context, r io.Reader, want string) (sha256 string, size int64, err error)
}

// FetchOptions bound the download of a WasmPlugin module given by URL. Zero values take the
// defaults.
type FetchOptions struct {
	// ConnectTimeout bounds connecting (default 5s); Timeout the whole download (default 60s).
	ConnectTimeout, Timeout time.Duration
	// MaxBytes refuses a download announcing more before reading it (0: no early refusal;
	// the module store bounds what it stores).
	MaxBytes int64
}

// FetchModules returns the module fetch stage of the standalone control plane: every created
// or changed WasmPlugin's module must be on the server (modules; nil refuses every
// WasmPlugin), and a module given by URL is downloaded and checked against its SHA-256.
func FetchModules(modules Modules, opts FetchOptions) crd.Checker {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	f := &fetcher{modules: modules, opts: opts, client: &http.Client{
		Timeout: opts.Timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: opts.ConnectTimeout}).DialContext,
			TLSHandshakeTimeout:   opts.ConnectTimeout,
			ResponseHeaderTimeout: opts.Timeout,
			MaxIdleConns:          4,
			IdleConnTimeout:       30 * time.Second,
		},
	}}
	return crd.CheckerFunc(f.check)
}

type fetcher struct {
	modules Modules
	opts    FetchOptions
	client  *http.Client
}

func (f *fetcher) check(ctx context.Context, set *crd.Set, changed []crd.Key) error {
	var errs []error
	for _, p := range set.WasmPlugins {
		key := crd.KeyOf(p)
		if !slices.Contains(changed, key) {
			continue
		}
		fail := func(path string, err error) {
			errs = append(errs, &crd.ObjectError{Key: key, Err: &crd.FieldError{Path: path, Err: err}})
		}
		m := p.Spec.Module
		switch {
		case f.modules == nil:
			fail("spec.module", errors.New("this server has no module store"))
		case m.SHA256 == "":
			fail("spec.module.sha256", fmt.Errorf("required: a module file (%s) is uploaded by `wasmesh apply`, which fills it", m.File))
		case m.URL != "":
			if f.modules.Has(m.SHA256) {
				continue
			}
			if err := f.fetch(ctx, m.URL, m.SHA256); err != nil {
				fail("spec.module.url", err)
			}
		default:
			if !f.modules.Has(m.SHA256) {
				fail("spec.module.sha256", fmt.Errorf("module %s is not on the server: module %s: %w", m.SHA256, m.SHA256, store.ErrNotFound))
			}
		}
	}
	return errors.Join(errs...)
}

func (f *fetcher) fetch(ctx context.Context, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("download (connect timeout %v, total %v): %w", f.opts.ConnectTimeout, f.opts.Timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download: %s", resp.Status)
	}
	if f.opts.MaxBytes > 0 && resp.ContentLength > f.opts.MaxBytes {
		return fmt.Errorf("download: module larger than %d MiB", f.opts.MaxBytes>>20)
	}
	if _, _, err := f.modules.Put(ctx, resp.Body, want); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	return nil
}

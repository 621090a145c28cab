package api

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/admission"
	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// hangingOrigin accepts connections and never answers, like the module URL of the report.
// accepted receives once per connection; closed once per connection the server closed.
type hangingOrigin struct {
	ln               net.Listener
	accepted, closed chan struct{}
}

func newHangingOrigin(t *testing.T) *hangingOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := &hangingOrigin{ln: ln, accepted: make(chan struct{}, 16), closed: make(chan struct{}, 16)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = c.Read(make([]byte, 1<<16)) // the request; then nothing until the peer leaves
				for {
					if _, err := c.Read(make([]byte, 1<<16)); err != nil {
						break
					}
				}
				c.Close()
				h.closed <- struct{}{}
			}()
		}
	}()
	return h
}

func hangingPlugin(url string) string {
	return head + "kind: WasmPlugin\nmetadata: {name: slow}\nspec:\n  module: {url: \"" + url + "\", sha256: " +
		strings.Repeat("a", 64) + "}\n  selector: {services: [reviews]}\n"
}

// Issue 10, item 4: an apply whose module URL never answers does not delay other applies or
// deletes (admission runs outside the store's write lock), and once its client gives up it is
// not committed.
func TestHangingModuleURLBlocksNoWrite(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.client.Apply(ctx, decode(t, "s.yaml", reviews), false)
	require.NoError(t, err)
	origin := newHangingOrigin(t)

	slowCtx, giveUp := context.WithCancel(ctx)
	slowDone := make(chan error, 1)
	go func() {
		_, err := e.client.Apply(slowCtx, decode(t, "p.yaml", hangingPlugin("http://"+origin.ln.Addr().String()+"/m.wasm")), false)
		slowDone <- err
	}()
	<-origin.accepted // the slow apply is downloading

	for i := range 5 { // other writes go through meanwhile
		_, err := e.client.Apply(ctx, decode(t, "c.yaml", canary), false)
		require.NoError(t, err, "apply %d", i)
		_, err = e.client.Delete(ctx, crd.Key{Kind: crd.KindTrafficRoute, Namespace: "default", Name: "reviews"})
		require.NoError(t, err, "delete %d", i)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the slow apply ended before its client gave up: %v", err)
	default:
	}
	rev, err := e.store.Revision()
	require.NoError(t, err)

	giveUp() // the CLI's timeout
	require.ErrorIs(t, <-slowDone, context.Canceled)
	<-origin.closed // the server dropped the download
	set, after, err := e.store.List()
	require.NoError(t, err)
	require.Empty(t, set.WasmPlugins, "the abandoned apply was committed")
	require.Equal(t, rev, after)
}

// The download has a total timeout: an apply whose client waits gets a clear refusal.
func TestModuleDownloadTimeout(t *testing.T) {
	e := newEnvCfg(t, admission.FetchOptions{Timeout: 200 * time.Millisecond}, nil, nil)
	ctx := context.Background()
	origin := newHangingOrigin(t)
	_, err := e.client.Apply(ctx, decode(t, "p.yaml", reviews+"---\n"+hangingPlugin("http://"+origin.ln.Addr().String()+"/m.wasm")), false)
	require.ErrorContains(t, err, `p.yaml:14: document 2 (WasmPlugin "slow"): spec.module.url: download (connect timeout 5s, total 200ms): `)
	require.ErrorContains(t, err, "Client.Timeout exceeded")
	set, _, err := e.store.List()
	require.NoError(t, err)
	require.Empty(t, set.Services, "a refused apply wrote something")
}

// An apply whose client went away while it was validated is not committed, even when its
// validation then succeeds.
func TestAbandonedApplyNotCommitted(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var reqCtx context.Context
	slow := crd.CheckerFunc(func(ctx context.Context, _ *crd.Set, _ []crd.Key) error {
		reqCtx = ctx
		close(entered)
		<-release // a dry run that ignores cancellation
		return nil
	})
	e := newEnv(t, slow)
	ctx, giveUp := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.client.Apply(ctx, decode(t, "s.yaml", reviews), false)
		done <- err
	}()
	<-entered
	giveUp()
	require.ErrorIs(t, <-done, context.Canceled)
	<-reqCtx.Done() // the server has noticed its client is gone (the connection closed)
	close(release)
	e.ts.Close() // waits for the handler to finish: commit or not

	set, rev, err := e.store.List()
	require.NoError(t, err)
	require.Empty(t, set.Services, "the abandoned apply was committed")
	require.Zero(t, rev)
}

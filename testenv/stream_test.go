package testenv

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Several streams are open at once: each pauses, Advance drives them all, Wait ends some.
func TestConcurrentStreams(t *testing.T) {
	t.Run("paused by a filter, resumed by one tick", func(t *testing.T) {
		env := newEnv(t, []Filter{allFilter(t, "tick=100")})
		a, b := env.Begin(op("pause")), env.Begin(op("pause"))
		require.False(t, a.Done())
		require.False(t, b.Done())
		require.Nil(t, a.Result())
		fast := env.Begin(op(""))
		require.True(t, fast.Done(), "a stream nobody pauses completes in Begin")
		require.NoError(t, fast.Result().Err)
		require.Zero(t, fast.Result().Elapsed)

		env.Advance(99 * time.Millisecond)
		require.False(t, a.Done())
		env.Advance(time.Millisecond)
		for _, s := range []*Stream{a, b} {
			require.True(t, s.Done())
			require.NoError(t, s.Result().Err)
			require.NotNil(t, s.Result().Upstream)
			require.Equal(t, 100*time.Millisecond, s.Result().Elapsed)
		}
		require.Equal(t, 1.0, env.Metrics()["tenv_ticks"], "one tick resumed both")
	})
	t.Run("upstream latency: Wait moves the clock for all", func(t *testing.T) {
		env := newEnv(t, []Filter{allFilter(t, "")}, WithLatency("default", 200*time.Millisecond))
		a := env.Begin(op(""))
		env.Advance(50 * time.Millisecond)
		b := env.Begin(op(""))
		env.Wait(a)
		require.True(t, a.Done())
		require.False(t, b.Done(), "b answers 50ms after a")
		require.Equal(t, 200*time.Millisecond, a.Result().Elapsed)
		env.Wait(a, b)
		require.Equal(t, 200*time.Millisecond, b.Result().Elapsed)
		require.Equal(t, 250*time.Millisecond, env.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		require.Equal(t, 200, env.Do(op("")).Response.Status, "Do still runs one exchange to its end")
	})
	t.Run("stuck and closed", func(t *testing.T) {
		env := newEnv(t, []Filter{allFilter(t, "")})
		a := env.Begin(op("pause")) // no tick: nothing resumes it
		b := env.Begin(op("pause"))
		env.Wait(a)
		require.ErrorIs(t, a.Result().Err, ErrStuck)
		require.False(t, b.Done(), "Wait(a) ends only a")
		require.NoError(t, env.Close())
		require.True(t, b.Done())
		require.ErrorContains(t, b.Result().Err, "the Env closed while the stream was open")
		require.ErrorContains(t, env.Begin(op("")).Result().Err, "closed Env")
	})
}

// HostCalls counts every host function the plugins call, by name.
func TestHostCallCounts(t *testing.T) {
	env := newEnv(t, []Filter{filter(t, "hello")})
	before := env.HostCalls()
	require.NotEmpty(t, before, "VM start and configure call the host")
	const n = 3
	for range n {
		require.NoError(t, env.Do(Request{Authority: "svc"}).Err)
	}
	after := env.HostCalls()
	// hello logs once and adds one header in each direction per stream.
	require.Equal(t, n, after["proxy_log"]-before["proxy_log"])
	require.Equal(t, 2*n, after["proxy_add_header_map_value"]-before["proxy_add_header_map_value"])
	for name, c := range after {
		require.GreaterOrEqual(t, c, before[name], name)
		require.Contains(t, hostCallNames, name)
	}
}

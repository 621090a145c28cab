package timer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTimers(t *testing.T) {
	var tm Timers
	t0 := time.Unix(1000, 0)
	var got []string
	add := func(d time.Duration, name string) ID {
		return tm.At(t0.Add(d), func() { got = append(got, name) })
	}
	add(30*time.Millisecond, "c")
	add(10*time.Millisecond, "a")
	b := add(20*time.Millisecond, "b")
	add(10*time.Millisecond, "a2")
	require.Equal(t, 4, tm.Len())

	require.Equal(t, 0, tm.Fire(t0.Add(5*time.Millisecond)))
	require.Equal(t, 2, tm.Fire(t0.Add(10*time.Millisecond)))
	require.Equal(t, []string{"a", "a2"}, got)
	require.True(t, tm.Cancel(b))
	require.False(t, tm.Cancel(b+100))
	next, ok := tm.Next()
	require.True(t, ok)
	require.Equal(t, t0.Add(30*time.Millisecond), next)
	require.Equal(t, 1, tm.Fire(t0.Add(time.Second)))
	require.Equal(t, []string{"a", "a2", "c"}, got)
	require.Equal(t, 0, tm.Len())
	_, ok = tm.Next()
	require.False(t, ok)
}

func TestTimersScheduleFromCallback(t *testing.T) {
	var tm Timers
	t0 := time.Unix(0, 0)
	n := 0
	var again func()
	again = func() {
		n++
		if n < 3 {
			tm.At(t0, again)
		}
	}
	tm.At(t0, again)
	tm.Fire(t0)
	require.Equal(t, 3, n)
}

func ExampleTimers() {
	var tm Timers
	start := time.Unix(0, 0)
	tm.At(start.Add(200*time.Millisecond), func() { fmt.Println("resume the paused stream") })
	tm.Fire(start.Add(100 * time.Millisecond)) // a tick: nothing due yet
	tm.Fire(start.Add(205 * time.Millisecond)) // a later tick
	// Output: resume the paused stream
}

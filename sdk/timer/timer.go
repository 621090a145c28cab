package timer

import (
	"container/heap"
	"time"
)

// ID identifies a scheduled timer; 0 is never used.
type ID uint64

type entry struct {
	due time.Time
	id  ID
	fn  func()
}

type queue []entry

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].due.Equal(q[j].due) {
		return q[i].id < q[j].id
	}
	return q[i].due.Before(q[j].due)
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(entry)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// Timers is a queue of callbacks by due time. The zero value is ready to use; it is not safe
// for concurrent use (a Wasm VM is single-threaded).
type Timers struct {
	q         queue
	next      ID
	cancelled map[ID]bool
}

// At schedules fn at due and returns its ID.
func (t *Timers) At(due time.Time, fn func()) ID {
	t.next++
	heap.Push(&t.q, entry{due: due, id: t.next, fn: fn})
	return t.next
}

// Cancel unschedules a timer; it reports whether it was still pending.
func (t *Timers) Cancel(id ID) bool {
	for _, e := range t.q {
		if e.id == id {
			if t.cancelled == nil {
				t.cancelled = map[ID]bool{}
			}
			t.cancelled[id] = true
			return true
		}
	}
	return false
}

// Fire runs, in due order, every timer due at or before now, and returns how many ran.
// Callbacks may schedule new timers.
func (t *Timers) Fire(now time.Time) int {
	n := 0
	for len(t.q) > 0 && !t.q[0].due.After(now) {
		e := heap.Pop(&t.q).(entry)
		if t.cancelled[e.id] {
			delete(t.cancelled, e.id)
			continue
		}
		e.fn()
		n++
	}
	return n
}

// Len is the number of pending timers.
func (t *Timers) Len() int { return len(t.q) - len(t.cancelled) }

// Next returns the earliest due time, and false when nothing is pending.
func (t *Timers) Next() (time.Time, bool) {
	for len(t.q) > 0 && t.cancelled[t.q[0].id] {
		e := heap.Pop(&t.q).(entry)
		delete(t.cancelled, e.id)
	}
	if len(t.q) == 0 {
		return time.Time{}, false
	}
	return t.q[0].due, true
}

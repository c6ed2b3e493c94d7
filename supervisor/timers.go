package supervisor

import (
	"container/heap"
	"time"
)

// The supervisor's timers — the probes' (health.go, ready.go, probe.go),
// the backoff, timeout-kill, the schedule, the grace of a removed
// directory, readoption — in one queue behind ONE runtime timer, instead
// of a time.AfterFunc each — a goroutine and a wake-up of
// the loop per timer, and a wake-up of Go's sysmon thread at each one
// (while every processor is idle it sleeps until the next timer). Times
// are rounded up to timerTick, so the probes of services that started
// together keep running together: one wake-up for them all. A timer's
// function runs on the loop.

// A timer set while the due ones run (the next probe after a probe that
// completed at once) counts from when they began to run: a batch that
// takes longer than a tick is not split in two.

// timerTick is the granularity of the queue: a timer fires up to this late.
const timerTick = 10 * time.Millisecond

// loopTimer is one timer in the queue.
type loopTimer struct {
	at time.Duration // since timers.base, a multiple of timerTick
	f  func()
	i  int // index in the heap; -1 once fired or cancelled
}

type timers struct {
	base  time.Time
	h     timerHeap
	rt    *time.Timer   // the runtime timer, armed for the first one
	armed time.Duration // when rt fires; -1: not armed
	batch time.Duration // while runTimers runs: when it began; else -1
}

// after runs f on the loop after d (rounded up to timerTick), never before
// the caller has returned.
func (s *Supervisor) after(d time.Duration, f func()) *loopTimer { return s.afterOn(d, timerTick, f) }

// afterOn is after rounded up to a multiple of grid (itself a multiple of
// timerTick) since svinit's start: timers set around the same time with
// the same grid fire together.
func (s *Supervisor) afterOn(d, grid time.Duration, f func()) *loopTimer {
	q := &s.timers
	if q.base.IsZero() {
		q.base, q.armed, q.batch = time.Now(), -1, -1
	}
	at := q.batch
	if at < 0 {
		at = time.Since(q.base)
	}
	at += d
	grid = max(grid/timerTick, 1) * timerTick
	at = (at + grid - 1) / grid * grid
	t := &loopTimer{at: at, f: f}
	heap.Push(&q.h, t)
	s.armTimers()
	return t
}

// cancel takes t out of the queue: its function will not run. A nil t, or
// one already fired or cancelled, is left alone.
func (s *Supervisor) cancel(t *loopTimer) {
	if t != nil && t.i >= 0 {
		heap.Remove(&s.timers.h, t.i)
	}
}

// armTimers arms the runtime timer for the first timer in the queue, if it
// is not armed for that time or earlier already. A cancelled first timer
// leaves it armed: it fires for nothing and is armed again.
func (s *Supervisor) armTimers() {
	q := &s.timers
	if len(q.h) == 0 {
		return
	}
	first := q.h[0].at
	if q.armed >= 0 && q.armed <= first {
		return
	}
	q.armed = first
	d := first - time.Since(q.base)
	if q.rt == nil {
		q.rt = time.AfterFunc(d, func() { s.post(s.runTimers) })
		return
	}
	q.rt.Reset(d)
}

// runTimers runs every timer that is due, on the loop, and arms the
// runtime timer for the next one.
func (s *Supervisor) runTimers() {
	q := &s.timers
	q.armed = -1
	now := time.Since(q.base)
	q.batch = now
	for len(q.h) > 0 && q.h[0].at <= now {
		t := heap.Pop(&q.h).(*loopTimer)
		t.f()
	}
	q.batch = -1
	s.armTimers()
}

// timerHeap orders the queue by time (container/heap).
type timerHeap []*loopTimer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*loopTimer)
	t.i = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.i = -1
	*h = old[:len(old)-1]
	return t
}

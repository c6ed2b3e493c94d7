package supervisor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// has reports whether the actions include one of kind k.
func has(as []action, k actionKind) bool {
	for _, a := range as {
		if a.kind == k {
			return true
		}
	}
	return false
}

// A service that crashes 50 ms after every start, for 10 minutes of
// simulated time, through the real life cycle (next) and the real counting
// (runDied in next, backoff): never a hot loop — waits of 1, 2, 4, 8, 16 s, then
// 30 s each — and svc -d in the middle of any wait stops it at once. A run
// that then stays up resets the backoff.
func TestCrashLoopTenMinutes(t *testing.T) {
	v := &service{st: state{phase: phaseDown, wantUp: true}}
	v.st, _ = next(v.st, event{kind: evUp})
	v.st = started(v.st)
	var now, lastStart time.Duration
	var waits []time.Duration
	starts := 1
	for now < 10*time.Minute {
		lived := 50 * time.Millisecond
		now += lived
		v.st, _ = next(v.st, event{kind: evRunDied, lived: lived, code: 1})
		require.Equal(t, phaseFinish, v.st.phase)
		var acts []action
		v.st, acts = next(v.st, event{kind: evFinishDone})
		require.True(t, has(acts, actBackoff), "a quick exit always waits: %s", render(v.st))
		wait := v.backoff()
		waits = append(waits, wait)
		now += wait
		v.st, acts = next(v.st, event{kind: evBackoffOver})
		require.True(t, has(acts, actStartRun))
		require.GreaterOrEqual(t, now-lastStart, time.Second, "at most one start a second")
		lastStart = now
		starts++
	}
	require.Equal(t, []time.Duration{1, 2, 4, 8, 16, 30, 30}, func() []time.Duration {
		var s []time.Duration
		for _, w := range waits[:7] {
			s = append(s, w/time.Second)
		}
		return s
	}())
	require.LessOrEqual(t, starts, 26, "starts in 10 minutes")
	require.Equal(t, 30*time.Second, waits[len(waits)-1], "capped at 30 s")
	require.Equal(t, starts-1, v.st.restarts, "every exit counted as a restart")

	// svc -d while waiting: down at once, the timer cancelled.
	v.st, _ = next(v.st, event{kind: evRunDied, lived: 50 * time.Millisecond, code: 1})
	v.st, _ = next(v.st, event{kind: evFinishDone})
	require.Equal(t, phaseBackoff, v.st.phase)
	st, acts := next(v.st, event{kind: evDown})
	require.Equal(t, phaseDown, st.phase)
	require.True(t, has(acts, actCancelTimer))

	// A run that stays up a second or more resets the backoff.
	v.st, _ = next(v.st, event{kind: evBackoffOver})
	v.st, _ = next(v.st, event{kind: evRunDied, lived: 2 * time.Second, code: 1})
	require.Zero(t, v.st.fails)
	v.st, acts = next(v.st, event{kind: evFinishDone})
	require.True(t, has(acts, actStartRun), "restarted at once after a long run")
}

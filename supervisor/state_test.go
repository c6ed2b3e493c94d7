package supervisor

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// acts renders actions compactly: "run", "finish", "TERM", "backoff",
// "cancel", "release".
func acts(as []action) string {
	var out []string
	for _, a := range as {
		switch a.kind {
		case actStartRun:
			out = append(out, "run")
		case actStartFinish:
			out = append(out, "finish")
		case actSignal:
			out = append(out, strings.TrimPrefix(unix.SignalName(a.sig), "SIG"))
		case actDownSignal:
			out = append(out, "DOWN")
		case actBackoff:
			out = append(out, "backoff")
		case actCancelTimer:
			out = append(out, "cancel")
		case actRelease:
			out = append(out, "release")
		}
	}
	return strings.Join(out, ",")
}

// render shows the parts of a state the table checks.
func render(s state) string {
	r := s.phase.String()
	if s.wantUp {
		r += " want-up"
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{s.paused, "paused"}, {s.gotTerm, "term"}, {s.quick, "quick"}, {s.exiting, "exiting"}} {
		if f.on {
			r += " " + f.name
		}
	}
	return r
}

// Every (state, event): the service wanted up, in each phase. The signal of
// evSignal is HUP except where the row says TERM.
func TestLifeCycleTable(t *testing.T) {
	up := state{phase: phaseUp, wantUp: true}
	down := state{phase: phaseDown, wantUp: true}
	finish := state{phase: phaseFinish, wantUp: true}
	finishQuick := state{phase: phaseFinish, wantUp: true, quick: true}
	backoff := state{phase: phaseBackoff, wantUp: true, quick: true}
	backoffOnce := state{phase: phaseBackoff, quick: true}
	wait := state{phase: phaseWait, wantUp: true}
	hup := event{kind: evSignal, sig: unix.SIGHUP}
	term := event{kind: evSignal, sig: unix.SIGTERM}
	rows := []struct {
		from    state
		ev      event
		to      string
		actions string
	}{
		// down
		{down, event{kind: evUp}, "up want-up", "run"},
		{down, event{kind: evDown}, "down", ""},
		{down, event{kind: evOnce}, "up", "run"},
		{down, event{kind: evPause}, "down want-up paused", ""},
		{down, event{kind: evCont}, "down want-up", ""},
		{down, hup, "down want-up", ""},
		{down, event{kind: evExit}, "down exiting", "release"},
		{down, event{kind: evRemoved}, "down exiting", "release"},
		{down, event{kind: evRunDied}, "down want-up", ""},
		{down, event{kind: evRunDiedQuick}, "down want-up", ""},
		{down, event{kind: evStartFailed}, "down want-up", ""},
		{down, event{kind: evFinishDone}, "down want-up", ""},
		{down, event{kind: evBackoffOver}, "down want-up", ""},
		{down, event{kind: evBlocked}, "down want-up", ""},
		{down, event{kind: evDepsReady}, "down want-up", ""},
		// up
		{up, event{kind: evUp}, "up want-up", ""},
		{up, event{kind: evDown}, "up term", "DOWN,CONT"},
		{up, event{kind: evOnce}, "up", ""},
		{up, event{kind: evPause}, "up want-up paused", "STOP"},
		{up, event{kind: evCont}, "up want-up", "CONT"},
		{up, hup, "up want-up", "HUP"},
		{up, term, "up want-up term", "TERM"},
		{up, event{kind: evExit}, "up term exiting", "DOWN,CONT"},
		{up, event{kind: evRemoved}, "up term exiting", "DOWN,CONT"},
		{up, event{kind: evRunDied}, "finish want-up", "finish"},
		{up, event{kind: evRunDiedQuick}, "finish want-up quick", "finish"},
		{up, event{kind: evStartFailed}, "backoff want-up quick", "backoff"},
		{up, event{kind: evFinishDone}, "up want-up", ""},
		{up, event{kind: evBackoffOver}, "up want-up", ""},
		{up, event{kind: evBlocked}, "wait want-up", ""},
		{up, event{kind: evDepsReady}, "up want-up", ""},
		// finish (./run lived long enough)
		{finish, event{kind: evUp}, "finish want-up", ""},
		{finish, event{kind: evDown}, "finish", ""},
		{finish, event{kind: evOnce}, "finish", ""},
		{finish, event{kind: evPause}, "finish want-up", ""},
		{finish, event{kind: evCont}, "finish want-up", ""},
		{finish, hup, "finish want-up", "HUP"},
		{finish, event{kind: evExit}, "finish exiting", ""},
		{finish, event{kind: evRemoved}, "finish exiting", ""},
		{finish, event{kind: evRunDied}, "finish want-up", ""},
		{finish, event{kind: evRunDiedQuick}, "finish want-up", ""},
		{finish, event{kind: evStartFailed}, "finish want-up", ""},
		{finish, event{kind: evFinishDone}, "up want-up", "run"},
		{finishQuick, event{kind: evFinishDone}, "backoff want-up quick", "backoff"},
		{finish, event{kind: evBackoffOver}, "finish want-up", ""},
		{finish, event{kind: evBlocked}, "finish want-up", ""},
		{finish, event{kind: evDepsReady}, "finish want-up", ""},
		// backoff
		{backoff, event{kind: evUp}, "backoff want-up quick", ""},
		{backoffOnce, event{kind: evUp}, "backoff want-up quick", ""}, // svc -o then -u during a backoff
		{backoff, event{kind: evDown}, "down quick", "cancel"},
		{backoff, event{kind: evOnce}, "backoff quick", ""},
		{backoff, event{kind: evPause}, "backoff want-up paused quick", ""},
		{backoff, event{kind: evCont}, "backoff want-up quick", ""},
		{backoff, hup, "backoff want-up quick", ""},
		{backoff, event{kind: evExit}, "down quick exiting", "cancel,release"},
		{backoff, event{kind: evRemoved}, "down quick exiting", "cancel,release"},
		{backoff, event{kind: evRunDied}, "backoff want-up quick", ""},
		{backoff, event{kind: evRunDiedQuick}, "backoff want-up quick", ""},
		{backoff, event{kind: evStartFailed}, "backoff want-up quick", ""},
		{backoff, event{kind: evFinishDone}, "backoff want-up quick", ""},
		{backoff, event{kind: evBackoffOver}, "up want-up quick", "run"},
		{backoff, event{kind: evBlocked}, "backoff want-up quick", ""},
		{backoff, event{kind: evDepsReady}, "backoff want-up quick", ""},
		// wait (for dependencies)
		{wait, event{kind: evUp}, "wait want-up", ""},
		{wait, event{kind: evDown}, "down", ""},
		{wait, event{kind: evOnce}, "wait", ""},
		{wait, event{kind: evPause}, "wait want-up paused", ""},
		{wait, event{kind: evCont}, "wait want-up", ""},
		{wait, hup, "wait want-up", ""},
		{wait, event{kind: evExit}, "down exiting", "release"},
		{wait, event{kind: evRemoved}, "down exiting", "release"},
		{wait, event{kind: evRunDied}, "wait want-up", ""},
		{wait, event{kind: evRunDiedQuick}, "wait want-up", ""},
		{wait, event{kind: evStartFailed}, "wait want-up", ""},
		{wait, event{kind: evFinishDone}, "wait want-up", ""},
		{wait, event{kind: evBackoffOver}, "wait want-up", ""},
		{wait, event{kind: evBlocked}, "wait want-up", ""},
		{wait, event{kind: evDepsReady}, "up want-up", "run"},
	}
	covered := map[string]bool{}
	for _, r := range rows {
		name := fmt.Sprintf("%s/%s", r.from.phase, r.ev.kind)
		covered[name] = true
		t.Run(name, func(t *testing.T) {
			got, as := next(r.from, r.ev)
			require.Equal(t, r.to, render(got))
			require.Equal(t, r.actions, acts(as))
		})
	}
	for p := phaseDown; p <= phaseWait; p++ {
		for e := eventKind(0); e < numEvents; e++ {
			require.True(t, covered[fmt.Sprintf("%s/%s", p, e)], "no row for (%s, %s)", p, e)
		}
	}
}

// The cells where what is wanted changes the outcome.
func TestLifeCycleWantDown(t *testing.T) {
	for _, r := range []struct {
		from    state
		ev      event
		to      string
		actions string
	}{
		{state{phase: phaseFinish}, event{kind: evFinishDone}, "down", ""},
		{state{phase: phaseFinish, quick: true}, event{kind: evFinishDone}, "down quick", ""},
		{state{phase: phaseFinish, exiting: true, wantUp: true}, event{kind: evFinishDone}, "down want-up exiting", "release"},
		{state{phase: phaseUp}, event{kind: evSignal, sig: unix.SIGTERM}, "up term", "TERM,CONT"},
		{state{phase: phaseUp}, event{kind: evStartFailed}, "down quick", ""},
		{state{phase: phaseBackoff}, event{kind: evBackoffOver}, "up", "run"},
		{state{phase: phaseUp, paused: true, wantUp: true}, event{kind: evDown}, "up term", "DOWN,CONT"},
		{state{phase: phaseUp, paused: true, gotTerm: true}, event{kind: evRunDied}, "finish", "finish"},
		{state{phase: phaseDown, paused: true}, event{kind: evUp}, "up want-up", "run"},
	} {
		got, as := next(r.from, r.ev)
		require.Equal(t, r.to, render(got), "%s %s", render(r.from), r.ev.kind)
		require.Equal(t, r.actions, acts(as), "%s %s", render(r.from), r.ev.kind)
	}
}

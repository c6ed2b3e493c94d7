package supervisor

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func acts(as []action) string { return actionsString(as) }
func render(s state) string   { return s.String() }

type row struct {
	from    state
	ev      event
	to      string
	actions string
}

var (
	hup          = event{kind: evSignal, sig: unix.SIGHUP}
	term         = event{kind: evSignal, sig: unix.SIGTERM}
	died         = event{kind: evRunDied, lived: 2 * time.Second}
	diedQuick    = event{kind: evRunDied, lived: 50 * time.Millisecond, code: 1}
	shutdownFree = event{kind: evShutdown}
	shutdownHeld = event{kind: evShutdown, held: true}
	probeFail    = event{kind: evProbe}
	probeOK      = event{kind: evProbe, ok: true}
	tick         = event{kind: evTick}
)

func checkRows(t *testing.T, rows []row) map[string]bool {
	covered := map[string]bool{}
	for _, r := range rows {
		name := fmt.Sprintf("%s/%s", r.from.phase, r.ev.kind)
		covered[name] = true
		got, as := next(r.from, r.ev)
		require.Equal(t, r.to, render(got), "%s on %s", render(r.from), r.ev.kind)
		require.Equal(t, r.actions, acts(as), "%s on %s", render(r.from), r.ev.kind)
	}
	return covered
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
	rows := []row{
		// down
		{down, event{kind: evUp}, "up want-up", "run"},
		{down, event{kind: evDown}, "down", ""},
		{down, event{kind: evOnce}, "up", "run"},
		{down, event{kind: evPause}, "down want-up paused", ""},
		{down, event{kind: evCont}, "down want-up", ""},
		{down, hup, "down want-up", ""},
		{down, event{kind: evExit}, "down exiting", "release"},
		{down, event{kind: evRemoved}, "down exiting", "release"},
		{down, died, "down want-up", ""},
		{down, diedQuick, "down want-up", ""},
		{down, event{kind: evStartFailed}, "down want-up", ""},
		{down, event{kind: evFinishDone}, "down want-up", ""},
		{down, event{kind: evBackoffOver}, "down want-up", ""},
		{down, event{kind: evBlocked}, "down want-up", ""},
		{down, event{kind: evDepsReady}, "down want-up", ""},
		{down, shutdownFree, "down stopping", "release"},
		{down, shutdownHeld, "down stopping held", "release"},
		{down, event{kind: evUnheld}, "down want-up", ""},
		{down, event{kind: evDeadline}, "down nofinish", ""},
		{down, probeFail, "down want-up", ""}, // no health probe: a late result
		{down, tick, "down want-up", ""},
		{down, event{kind: evExitLater}, "down want-up exiting", "release"},
		{down, event{kind: evWantDown}, "down", ""},
		// up
		{up, event{kind: evUp}, "up want-up", ""},
		{up, event{kind: evDown}, "up term sent", "DOWN,CONT"},
		{up, event{kind: evOnce}, "up", ""},
		{up, event{kind: evPause}, "up want-up paused", "STOP"},
		{up, event{kind: evCont}, "up want-up", "CONT"},
		{up, hup, "up want-up", "HUP"},
		{up, term, "up want-up term", "TERM"},
		{up, event{kind: evExit}, "up term sent exiting", "DOWN,CONT"},
		{up, event{kind: evRemoved}, "up term sent exiting", "DOWN,CONT"},
		{up, died, "finish want-up", "finish"},
		{up, diedQuick, "finish want-up quick", "finish"},
		{up, event{kind: evStartFailed}, "backoff want-up quick", "backoff"},
		{up, event{kind: evFinishDone}, "up want-up", ""},
		{up, event{kind: evBackoffOver}, "up want-up", ""},
		{up, event{kind: evBlocked}, "wait want-up", ""},
		{up, event{kind: evDepsReady}, "up want-up", ""},
		{up, shutdownFree, "up term sent stopping", "DOWN,CONT"},
		{up, shutdownHeld, "up stopping held", ""},
		{up, event{kind: evUnheld}, "up want-up", ""},
		{up, event{kind: evDeadline}, "up nofinish", ""},
		{up, probeFail, "up want-up", ""}, // no health probe: a late result
		{up, tick, "up want-up", "skip"},
		{up, event{kind: evExitLater}, "up want-up exiting", ""}, // s6's x: no signal
		{up, event{kind: evWantDown}, "up", ""},                  // s6's O: no signal
		// finish (./run lived long enough)
		{finish, event{kind: evUp}, "finish want-up", ""},
		{finish, event{kind: evDown}, "finish", ""},
		{finish, event{kind: evOnce}, "finish", ""},
		{finish, event{kind: evPause}, "finish want-up", ""},
		{finish, event{kind: evCont}, "finish want-up", ""},
		{finish, hup, "finish want-up", "HUP"},
		{finish, event{kind: evExit}, "finish exiting", ""},
		{finish, event{kind: evRemoved}, "finish exiting", ""},
		{finish, died, "finish want-up", ""},
		{finish, event{kind: evStartFailed}, "finish want-up", ""},
		{finish, event{kind: evFinishDone}, "up want-up", "run"},
		{finishQuick, event{kind: evFinishDone}, "backoff want-up quick", "backoff"},
		{finish, event{kind: evBackoffOver}, "finish want-up", ""},
		{finish, event{kind: evBlocked}, "finish want-up", ""},
		{finish, event{kind: evDepsReady}, "finish want-up", ""},
		{finish, shutdownFree, "finish stopping", ""},
		{finish, shutdownHeld, "finish stopping held", ""},
		{finish, event{kind: evUnheld}, "finish want-up", ""},
		{finish, event{kind: evDeadline}, "finish nofinish", ""},
		{finish, probeFail, "finish want-up", ""}, // no health probe: a late result
		{finish, tick, "finish want-up", "skip"},
		{finish, event{kind: evExitLater}, "finish want-up exiting", ""},
		{finish, event{kind: evWantDown}, "finish", ""},
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
		{backoff, died, "backoff want-up quick", ""},
		{backoff, event{kind: evStartFailed}, "backoff want-up quick", ""},
		{backoff, event{kind: evFinishDone}, "backoff want-up quick", ""},
		{backoff, event{kind: evBackoffOver}, "up want-up quick", "run"},
		{backoff, event{kind: evBlocked}, "backoff want-up quick", ""},
		{backoff, event{kind: evDepsReady}, "backoff want-up quick", ""},
		{backoff, shutdownFree, "down quick stopping", "cancel,release"},
		{backoff, shutdownHeld, "down quick stopping held", "cancel,release"},
		{backoff, event{kind: evUnheld}, "backoff want-up quick", ""},
		{backoff, event{kind: evDeadline}, "backoff quick nofinish", ""},
		{backoff, probeFail, "backoff want-up quick", ""}, // no health probe: a late result
		{backoff, tick, "backoff want-up quick", ""},
		{backoff, event{kind: evExitLater}, "down want-up quick exiting", "cancel,release"},
		{backoff, event{kind: evWantDown}, "down quick", "cancel"},
		// wait (for dependencies)
		{wait, event{kind: evUp}, "wait want-up", ""},
		{wait, event{kind: evDown}, "down", ""},
		{wait, event{kind: evOnce}, "wait", ""},
		{wait, event{kind: evPause}, "wait want-up paused", ""},
		{wait, event{kind: evCont}, "wait want-up", ""},
		{wait, hup, "wait want-up", ""},
		{wait, event{kind: evExit}, "down exiting", "release"},
		{wait, event{kind: evRemoved}, "down exiting", "release"},
		{wait, died, "wait want-up", ""},
		{wait, event{kind: evStartFailed}, "wait want-up", ""},
		{wait, event{kind: evFinishDone}, "wait want-up", ""},
		{wait, event{kind: evBackoffOver}, "wait want-up", ""},
		{wait, event{kind: evBlocked}, "wait want-up", ""},
		{wait, event{kind: evDepsReady}, "up want-up", "run"},
		{wait, shutdownFree, "down stopping", "release"},
		{wait, shutdownHeld, "down stopping held", "release"},
		{wait, event{kind: evUnheld}, "wait want-up", ""},
		{wait, event{kind: evDeadline}, "wait nofinish", ""},
		{wait, probeFail, "wait want-up", ""}, // no health probe: a late result
		{wait, tick, "wait want-up", "skip"},
		{wait, event{kind: evExitLater}, "down want-up exiting", "release"},
		{wait, event{kind: evWantDown}, "down", ""},
	}
	covered := checkRows(t, rows)
	for p := phaseDown; p <= phaseWait; p++ {
		for e := eventKind(0); e < numEvents; e++ {
			require.True(t, covered[fmt.Sprintf("%s/%s", p, e)], "no row for (%s, %s)", p, e)
		}
	}
}

// Every (state, event) once the container stops: nothing starts, nothing is
// wanted up, commands that start or stop are refused (the shutdown decides
// the order), and the down-signal goes out once — at evShutdown for a
// service nothing depends on, at evUnheld for one whose dependents have all
// exited. Only the phases a stopping service can be in have rows: down,
// backoff and wait are left for release at evShutdown.
func TestLifeCycleStopping(t *testing.T) {
	held := state{phase: phaseUp, stopping: true, held: true}
	sent := state{phase: phaseUp, stopping: true, gotTerm: true, downSent: true}
	finish := state{phase: phaseFinish, stopping: true}
	late := state{phase: phaseUp, stopping: true, held: true, noFinish: true}
	rows := []row{
		{held, event{kind: evUp}, "up stopping held", ""},
		{held, event{kind: evDown}, "up stopping held", ""},
		{held, event{kind: evOnce}, "up stopping held", ""},
		{held, event{kind: evPause}, "up paused stopping held", "STOP"},
		{held, event{kind: evCont}, "up stopping held", "CONT"},
		{held, hup, "up stopping held", "HUP"},
		{held, event{kind: evExit}, "up stopping held", ""},
		{held, event{kind: evRemoved}, "up stopping held", ""},
		{held, died, "finish stopping held", "finish"},
		{held, diedQuick, "finish quick stopping held", "finish"},
		{late, died, "down stopping held nofinish", "release"},
		{held, event{kind: evStartFailed}, "down quick stopping held", "release"},
		{held, event{kind: evFinishDone}, "up stopping held", ""},
		{held, event{kind: evBackoffOver}, "up stopping held", ""},
		{held, event{kind: evBlocked}, "up stopping held", ""},
		{held, event{kind: evDepsReady}, "up stopping held", ""},
		{held, shutdownFree, "up stopping held", ""},
		{held, event{kind: evUnheld}, "up term sent stopping", "DOWN,CONT"},
		{sent, event{kind: evUnheld}, "up term sent stopping", ""},
		{sent, event{kind: evDown}, "up term sent stopping", ""},
		{held, event{kind: evDeadline}, "up stopping held nofinish", ""},
		{held, probeFail, "up stopping held", ""},
		{held, tick, "up stopping held", ""},
		{held, event{kind: evExitLater}, "up stopping held", ""},
		{held, event{kind: evWantDown}, "up stopping held", ""},
		{finish, event{kind: evFinishDone}, "down stopping", "release"},
		{finish, event{kind: evUp}, "finish stopping", ""},
		{finish, hup, "finish stopping", "HUP"},
		{finish, event{kind: evUnheld}, "finish stopping", ""},
		{finish, event{kind: evDeadline}, "finish stopping nofinish", ""},
	}
	covered := checkRows(t, rows)
	for e := eventKind(0); e < numEvents; e++ {
		require.True(t, covered[fmt.Sprintf("up/%s", e)], "no stopping row for (up, %s)", e)
	}
	// A service already told to stop (svc -d) gets no second down-signal
	// when the container stops.
	st, as := next(state{phase: phaseUp, gotTerm: true, downSent: true}, shutdownFree)
	require.Equal(t, "up term sent stopping", render(st))
	require.Empty(t, acts(as))
}

// Giving up and essential services: the decisions once in runDied's
// counting and afterFinish, for exits and failed starts alike.
func TestLifeCycleGiveUp(t *testing.T) {
	pol := policy{maxRestarts: 2, essential: true}
	failing := state{phase: phaseUp, wantUp: true, failsInRow: 2, policy: pol}
	st, as := next(failing, diedQuick)
	require.Equal(t, "finish quick", render(st))
	require.Equal(t, "giveup,finish", acts(as))
	require.True(t, st.gaveUp)
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "down quick", render(st))
	require.Equal(t, "essential", acts(as))
	require.True(t, st.fired)

	// A start that fails counts the same way.
	st, as = next(failing, event{kind: evStartFailed})
	require.Equal(t, "down quick", render(st))
	require.Equal(t, "giveup,essential", acts(as))

	// Once fired, never again; a service not essential only stays down.
	fired := state{phase: phaseFinish, gaveUp: true, fired: true, policy: pol}
	_, as = next(fired, event{kind: evFinishDone})
	require.Empty(t, acts(as))
	_, as = next(state{phase: phaseFinish, gaveUp: true}, event{kind: evFinishDone})
	require.Empty(t, acts(as))

	// An essential service that ends while wanted down (svc -d, -o) gave up.
	st, _ = next(state{phase: phaseUp, policy: pol}, died)
	_, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "essential", acts(as))

	// While the container stops, an essential service that exits is only
	// released: the stop is already under way.
	st, _ = next(state{phase: phaseUp, stopping: true, gotTerm: true, downSent: true, policy: pol}, died)
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "down stopping", render(st))
	require.Equal(t, "release", acts(as))

	// A steady run forgives the failures; a failure svinit asked for
	// (svc -t) is not one.
	st, _ = next(state{phase: phaseUp, wantUp: true, failsInRow: 2, policy: pol}, event{kind: evRunDied, lived: 11 * time.Second, code: 1})
	require.Equal(t, 1, st.failsInRow)
	st, _ = next(state{phase: phaseUp, wantUp: true, gotTerm: true, failsInRow: 2, policy: pol}, diedQuick)
	require.Equal(t, 2, st.failsInRow)
	require.Zero(t, st.restarts)
}

// The cells where what is wanted changes the outcome.
func TestLifeCycleWantDown(t *testing.T) {
	checkRows(t, []row{
		{state{phase: phaseFinish}, event{kind: evFinishDone}, "down", ""},
		{state{phase: phaseFinish, quick: true}, event{kind: evFinishDone}, "down quick", ""},
		{state{phase: phaseFinish, exiting: true, wantUp: true}, event{kind: evFinishDone}, "down want-up exiting", "release"},
		{state{phase: phaseUp}, term, "up term", "TERM,CONT"},
		{state{phase: phaseUp}, event{kind: evStartFailed}, "down quick", ""},
		{state{phase: phaseBackoff}, event{kind: evBackoffOver}, "up", "run"},
		{state{phase: phaseUp, paused: true, wantUp: true}, event{kind: evDown}, "up term sent", "DOWN,CONT"},
		{state{phase: phaseUp, paused: true, gotTerm: true}, died, "finish", "finish"},
		{state{phase: phaseDown, paused: true}, event{kind: evUp}, "up want-up", "run"},
	})
}

// Health probes: failures count only after the start period (or once one
// probe passed), retries in a row make the service unhealthy; then it is
// restarted through the normal stop path and the exit counts as a failure,
// or with health-action mark only shown.
func TestLifeCycleHealth(t *testing.T) {
	pol := policy{healthRetries: 3}
	up := state{phase: phaseUp, wantUp: true, policy: pol}
	early := event{kind: evProbe, early: true}

	st, as := next(up, early)
	require.Zero(t, st.healthFails, "a failure in the start period does not count")
	require.Empty(t, acts(as))
	st, _ = next(st, probeOK)
	require.True(t, st.healthOK)
	st, _ = next(st, early)
	require.Equal(t, 1, st.healthFails, "after a pass, failures count even in the start period")

	st = up
	for i := 1; i <= 2; i++ {
		st, as = next(st, probeFail)
		require.Equal(t, i, st.healthFails)
		require.Empty(t, acts(as))
	}
	st, as = next(st, probeFail)
	require.Equal(t, "up want-up term sent unhealthy", render(st))
	require.Equal(t, "unhealthy,DOWN,CONT", acts(as))
	st, as = next(st, probeFail)
	require.Empty(t, acts(as), "reported and stopped once")

	// The exit it causes is a failure: counted, restarted after finish.
	st, as = next(st, event{kind: evRunDied, lived: 20 * time.Second, code: 143})
	require.Equal(t, "finish want-up", render(st))
	require.Equal(t, 1, st.restarts)
	require.Equal(t, 1, st.failsInRow)
	require.Equal(t, "finish", acts(as))
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "up want-up", render(st))
	require.Equal(t, "run", acts(as))
	require.Zero(t, st.healthFails, "a new run starts healthy")

	// health-action mark: shown, left running; a pass makes it healthy.
	mark := state{phase: phaseUp, wantUp: true, healthFails: 2, policy: policy{healthRetries: 3, healthMark: true}}
	st, as = next(mark, probeFail)
	require.Equal(t, "up want-up unhealthy", render(st))
	require.Equal(t, "unhealthy", acts(as))
	st, _ = next(st, probeOK)
	require.Equal(t, "up want-up", render(st))

	// Already asked to stop (svc -d): reported, no second down-signal.
	st, as = next(state{phase: phaseUp, gotTerm: true, downSent: true, healthFails: 2, policy: pol}, probeFail)
	require.Equal(t, "unhealthy", acts(as))
	require.False(t, st.healthKill)
}

// Oneshots: exit 0 is done (no restart, ready for dependents); a failure
// is retried after the backoff, until max-restarts; an essential one with
// no max-restarts stops the container at once; svc -u runs it again; at
// the shutdown ./undo runs once its dependents have exited.
func TestLifeCycleOneshot(t *testing.T) {
	one := policy{kind: oneshot, undo: true}
	running := state{phase: phaseUp, wantUp: true, policy: one}

	st, as := next(running, event{kind: evRunDied, lived: 3 * time.Second})
	require.Equal(t, "finish done", render(st))
	require.Equal(t, "done,finish", acts(as))
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "down done", render(st))
	require.Empty(t, acts(as), "not run again")
	require.Zero(t, st.restarts)

	st2, as := next(st, event{kind: evUp})
	require.Equal(t, "up want-up", render(st2), "svc -u runs it again")
	require.Equal(t, "run", acts(as))

	// Failure: backoff, even after a long run.
	st, as = next(running, event{kind: evRunDied, lived: 30 * time.Second, code: 2})
	require.Equal(t, "finish want-up quick", render(st))
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "backoff want-up quick", render(st))
	require.Equal(t, "backoff", acts(as))

	// restart never (s6-rc's rule): a failed oneshot is not run again; it
	// stays failed (its dependents keep waiting), the container goes on.
	never := state{phase: phaseUp, wantUp: true, policy: policy{kind: oneshot, restart: restartNever}}
	st, as = next(never, event{kind: evRunDied, lived: time.Second, code: 3})
	require.Equal(t, "giveup,finish", acts(as))
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "down quick", render(st))
	require.Empty(t, acts(as))
	require.True(t, st.gaveUp)
	// ... and essential too: the container stops with its code.
	never.policy.essential, never.policy.maxRestarts = true, 3
	st, _ = next(never, event{kind: evRunDied, lived: time.Second, code: 3})
	_, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "essential", acts(as))

	// Essential without max-restarts: the container stops with its code.
	ess := state{phase: phaseUp, wantUp: true, policy: policy{kind: oneshot, essential: true}}
	st, as = next(ess, event{kind: evRunDied, lived: time.Second, code: 3})
	require.Equal(t, "giveup,finish", acts(as))
	_, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "essential", acts(as))
	_, as = next(ess, event{kind: evStartFailed})
	require.Equal(t, "giveup,essential", acts(as))
	// Essential with max-restarts: retried first.
	ess.policy.maxRestarts = 2
	st, _ = next(ess, event{kind: evRunDied, lived: time.Second, code: 3})
	require.Equal(t, "finish want-up quick", render(st))

	// The shutdown: held while dependents run, then ./undo, then release.
	done := state{phase: phaseDown, done: true, policy: one}
	st, as = next(done, shutdownHeld)
	require.Equal(t, "down stopping held done", render(st))
	require.Empty(t, acts(as))
	st, as = next(st, event{kind: evUnheld})
	require.Equal(t, "finish stopping", render(st))
	require.Equal(t, "undo", acts(as))
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "down stopping", render(st))
	require.Equal(t, "release", acts(as))
	_, as = next(done, shutdownFree)
	require.Equal(t, "undo", acts(as), "nothing depends on it: at once")
	_, as = next(state{phase: phaseDown, done: true, policy: policy{kind: oneshot}}, shutdownHeld)
	require.Equal(t, "release", acts(as), "no ./undo: nothing to wait for")
	_, as = next(state{phase: phaseDown, policy: one}, shutdownHeld)
	require.Equal(t, "release", acts(as), "never done: nothing to undo")
	st, _ = next(done, shutdownHeld)
	st, _ = next(st, event{kind: evDeadline})
	_, as = next(st, event{kind: evUnheld})
	require.Equal(t, "release", acts(as), "after the deadline: no ./undo")
}

// Scheduled jobs: a tick runs ./run once (never restarted, never two at
// once: a tick while it runs is skipped); svc -u runs it now; exits are
// not restarts and never stop the container.
func TestLifeCycleScheduled(t *testing.T) {
	job := policy{kind: scheduled, essential: true}
	idle := state{phase: phaseDown, policy: job}
	st, as := next(idle, tick)
	require.Equal(t, "up", render(st))
	require.Equal(t, "run", acts(as))
	_, as = next(st, tick)
	require.Equal(t, "skip", acts(as))
	st, _ = next(st, event{kind: evRunDied, lived: 5 * time.Second, code: 1})
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "down", render(st))
	require.Empty(t, acts(as), "not restarted; not essential")
	require.Zero(t, st.restarts)
	st, as = next(idle, event{kind: evUp})
	require.Equal(t, "up", render(st), "svc -u: once, now")
	require.Equal(t, "run", acts(as))
	_, as = next(state{phase: phaseDown, policy: job, stopping: true}, tick)
	require.Empty(t, acts(as), "nothing starts while stopping")
}

// restart, exit-codes, start-secs, start-retries (what supervisord's
// autorestart, exitcodes, startsecs and startretries say): a run that lived
// start-secs is restarted per the policy; an earlier exit is a failed start,
// retried until start-retries, then it gives up (supervisord's FATAL).
func TestLifeCycleRestartPolicy(t *testing.T) {
	up := func(p policy) state { return state{phase: phaseUp, wantUp: true, policy: p} }
	long := event{kind: evRunDied, lived: 5 * time.Second}
	for _, c := range []struct {
		p       policy
		code    int
		restart bool
	}{
		{policy{}, 0, true},
		{policy{}, 3, true},
		{policy{restart: restartNever}, 0, false},
		{policy{restart: restartNever}, 3, false},
		{policy{restart: restartOnFailure}, 0, false},
		{policy{restart: restartOnFailure}, 3, true},
		{policy{restart: restartOnFailure, okCodes: []int{0, 3}}, 3, false},
		{policy{restart: restartOnFailure, okCodes: []int{3}}, 0, true},
		{policy{restart: restartOnFailure}, 143, true}, // killed by TERM: not an expected code
	} {
		ev := long
		ev.code = c.code
		st, _ := next(up(c.p), ev)
		st, as := next(st, event{kind: evFinishDone})
		require.Equal(t, c.restart, acts(as) == "run", "%+v exit %d: %s %s", c.p, c.code, render(st), acts(as))
		require.Equal(t, !c.restart, st.gaveUp, "%+v exit %d", c.p, c.code)
	}

	// start-secs: an exit before it is a failed start, retried whatever the
	// policy and code; past start-retries, it gives up.
	p := policy{restart: restartNever, startSecs: 3 * time.Second, startTries: 3} // start-retries 2
	st := up(p)
	for i := 1; i <= 2; i++ {
		st, _ = next(st, event{kind: evRunDied, lived: 2 * time.Second})
		var as []action
		st, as = next(st, event{kind: evFinishDone})
		require.Equal(t, "backoff", acts(as), "failed start %d: retried", i)
		st, _ = next(st, event{kind: evBackoffOver})
	}
	st, as := next(st, event{kind: evRunDied, lived: 2 * time.Second})
	require.Equal(t, "giveup,finish", acts(as), "the third failed start is one too many")
	st, _ = next(st, event{kind: evFinishDone})
	require.Equal(t, "down quick", render(st))

	// Asked to start again (svc -u, supervisorctl start after FATAL): the
	// failed starts counted so far are forgotten — two retries again.
	st, as = next(st, event{kind: evUp})
	require.Equal(t, "run", acts(as))
	require.Equal(t, "up want-up", render(st))
	require.Zero(t, st.fails)
	st, _ = next(st, event{kind: evRunDied, lived: 2 * time.Second})
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "backoff", acts(as), "the first failed start after the manual start is retried")

	// start-retries 0 (supervisord's startretries=0): the first failed
	// start gives up.
	st, as = next(up(policy{startSecs: 3 * time.Second, startTries: 1}), event{kind: evRunDied, lived: 2 * time.Second})
	require.Equal(t, "giveup,finish", acts(as))

	// start-secs 0 (1 ns): no exit is a failed start.
	st, _ = next(up(policy{startSecs: time.Nanosecond, startTries: 1}), event{kind: evRunDied, lived: time.Microsecond})
	require.False(t, st.quick)
	require.Zero(t, st.fails)

	// A run that lived start-secs resets the failed starts.
	st, _ = next(up(p), event{kind: evRunDied, lived: 2 * time.Second})
	require.Equal(t, 1, st.fails)
	st, _ = next(up(p), event{kind: evRunDied, lived: 4 * time.Second})
	require.Zero(t, st.fails)
}

// s6's layout: ./finish exiting 125 is a permanent failure — the service is
// wanted down from then on (s6-supervise's "O" event); any other code, or
// 125 outside the s6 layout, changes nothing. s6's x waits for ./run and
// ./finish to be over, whatever is wanted, then releases.
func TestLifeCycleS6(t *testing.T) {
	s6 := policy{finish125: true}
	finish := state{phase: phaseFinish, wantUp: true, policy: s6}
	finishPlain := state{phase: phaseFinish, wantUp: true}
	rows := []row{
		{finish, event{kind: evFinishDone, code: 125}, "down", ""},
		{finish, event{kind: evFinishDone, code: 1}, "up want-up", "run"},
		{finishPlain, event{kind: evFinishDone, code: 125}, "up want-up", "run"},
		{state{phase: phaseFinish, wantUp: true, exiting: true}, event{kind: evFinishDone}, "down want-up exiting", "release"},
	}
	checkRows(t, rows)
	st, _ := next(finish, event{kind: evFinishDone, code: 125})
	require.True(t, st.gaveUp, "ended for good")
	// x while up, then ./run dies and ./finish ends: released, not restarted.
	st, _ = next(state{phase: phaseUp, wantUp: true}, event{kind: evExitLater})
	st, as := next(st, died)
	require.Equal(t, "finish", acts(as))
	st, as = next(st, event{kind: evFinishDone})
	require.Equal(t, "release", acts(as))
	require.Equal(t, phaseDown, st.phase)
}

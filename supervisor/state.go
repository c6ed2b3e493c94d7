// Package supervisor keeps daemontools-style service directories running,
// all of them inside the one svinit process: a state machine per service,
// driven by one event loop.
package supervisor

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// quickExit is how long ./run must live for a restart at once.
	quickExit = time.Second
	// steadyRun is how long ./run must live for its failures to be forgiven.
	steadyRun = 10 * time.Second
)

// phase is where a service's processes are.
type phase int

const (
	phaseDown    phase = iota // no process
	phaseUp                   // ./run runs
	phaseFinish               // ./finish runs after ./run exited
	phaseBackoff              // wanted up, waiting before the next start
	phaseWait                 // wanted up, waiting for its dependencies to be ready
)

var phaseNames = [...]string{"down", "up", "finish", "backoff", "wait"}

func (p phase) String() string { return phaseNames[p] }

// kind is what a service directory is, from its files (config.go).
type kind int

const (
	longrun   kind = iota // ./run runs and is restarted (the default)
	oneshot               // type: oneshot: ./run runs to completion once; exit 0 is "done"
	scheduled             // schedule: ./run runs at the times it says, never two at once
)

var kindNames = [...]string{"longrun", "oneshot", "scheduled"}

func (k kind) String() string { return kindNames[k] }

// restartPolicy says which exits of a longrun's ./run are restarted (once it
// lived start-secs: an earlier exit is a failed start, always retried until
// start-retries).
type restartPolicy int

const (
	restartAlways    restartPolicy = iota // every exit (daemontools' rule; the default)
	restartNever                          // none: it stays down after it exited
	restartOnFailure                      // exits with a code not in exit-codes (supervisord's "unexpected")
)

// policy is what the service's files say about failures and health; the
// runtime reads it before each start (config.go).
type policy struct {
	kind          kind
	restart       restartPolicy
	okCodes       []int         // restartOnFailure: the expected exit codes (0 if empty)
	startSecs     time.Duration // how long ./run must live to have started (1 s)
	startTries    int           // failed starts in a row that give up: start-retries + 1 (0: never give up)
	maxRestarts   int           // failures in a row before giving up (0: never)
	essential     bool          // when it gives up, the container stops
	undo          bool          // a oneshot with an ./undo script, run at the shutdown
	healthRetries int           // failed health probes in a row that make it unhealthy (0: no probe)
	healthMark    bool          // health-action mark: unhealthy is shown, not restarted
	finish125     bool          // s6 layout: ./finish exiting 125 means it failed for good (not restarted)
}

// state is everything the life cycle decides on. Nothing outside next
// changes it, but the policy the runtime reads from the service's files.
type state struct {
	phase    phase
	wantUp   bool
	paused   bool
	gotTerm  bool // TERM sent to the current process
	downSent bool // the down-signal was sent to the current process
	quick    bool // the last ./run lived less than a second (or failed to start)
	exiting  bool // x, or the directory was removed: stop, then forget it
	stopping bool // the container stops: nothing starts again, an exit is final
	held     bool // stopping: a service that depends on this one has not exited
	noFinish bool // the stop deadline is over: not even ./finish starts
	gaveUp   bool // the last ./run ended for good: asked to stop, or max-restarts
	fired    bool // essential: the container was told to stop (once)
	done     bool // oneshot: the last ./run exited 0 (ready for its dependents)

	healthOK   bool // a health probe passed since ./run started (the start period is over)
	unhealthy  bool // healthRetries probes failed in a row
	healthKill bool // the down-signal was the health restart's: the exit is a failure

	fails        int // quick failures in a row: the backoff step
	failsInRow   int // failed exits while wanted up; a steady run forgives them
	restarts     int // exits of ./run svinit did not ask for
	healthFails  int // failed health probes in a row
	healthBadRun int // health restarts so far

	policy policy
}

// eventKind is what happened to a service.
type eventKind int

const (
	evUp          eventKind = iota // u: want up, start if down
	evDown                         // d: want down, TERM+CONT the process
	evOnce                         // o: start if down, never restart
	evPause                        // p: STOP
	evCont                         // c: CONT
	evSignal                       // h a i q 1 2 t k: send a signal
	evExit                         // x: stop, then stop supervising
	evRemoved                      // the directory is gone: the same as x
	evRunDied                      // ./run exited (lived and code say how)
	evStartFailed                  // ./run could not be started
	evFinishDone                   // ./finish exited (or there is none)
	evBackoffOver                  // the wait before the next start is over
	evBlocked                      // ./run cannot start yet: a dependency is not ready
	evDepsReady                    // every dependency is ready now
	evShutdown                     // the container stops (held: a dependent still runs)
	evUnheld                       // shutdown: every service that depends on this one has exited
	evDeadline                     // the stop deadline is over: start nothing, not even ./finish
	evProbe                        // a health probe ended (ok; early: within the start period)
	evTick                         // scheduled: the time to run has come
	evExitLater                    // s6's x: stop supervising once ./run and ./finish are over; no signal
	evWantDown                     // s6's O (and Q): want down, signal nothing, start nothing
	numEvents
)

var eventNames = [...]string{"up", "down", "once", "pause", "cont", "signal", "exit", "removed",
	"run died", "start failed", "finish done", "backoff over", "blocked", "deps ready",
	"shutdown", "unheld", "deadline", "probe", "tick", "exit later", "want down"}

func (e eventKind) String() string { return eventNames[e] }

// event is one eventKind with what it carries.
type event struct {
	kind  eventKind
	sig   unix.Signal   // evSignal
	lived time.Duration // evRunDied: how long ./run ran
	code  int           // evRunDied: its exit code (128+N for signal N); evFinishDone: ./finish's
	held  bool          // evShutdown: a service that depends on this one runs
	ok    bool          // evProbe: the probe passed
	early bool          // evProbe: within the start period after ./run started
}

// String renders an event for --trace: "run died (exit 1 after 0.050s)".
func (e event) String() string {
	switch e.kind {
	case evSignal:
		return "signal " + strings.TrimPrefix(unix.SignalName(e.sig), "SIG")
	case evRunDied:
		return fmt.Sprintf("run died (code %d after %.3fs)", e.code, e.lived.Seconds())
	case evShutdown:
		if e.held {
			return "shutdown (held)"
		}
	case evProbe:
		switch {
		case e.ok:
			return "probe ok"
		case e.early:
			return "probe failed (start period)"
		}
		return "probe failed"
	}
	return e.kind.String()
}

// actionKind is what the runtime must do.
type actionKind int

const (
	actStartRun    actionKind = iota // start ./run
	actStartFinish                   // start ./finish, or report evFinishDone at once
	actSignal                        // send sig to the current process
	actDownSignal                    // send the service's down-signal (TERM, or down-signal)
	actBackoff                       // arm the timer for the next start
	actCancelTimer                   // forget the backoff timer
	actRelease                       // stop supervising the directory
	actGiveUp                        // report: max-restarts reached, it stays down
	actEssential                     // tell PID 1: an essential service gave up
	actUndo                          // oneshot: start ./undo (the shutdown's ./finish of a oneshot)
	actUnhealthy                     // report: the service became unhealthy (with the probe's output)
	actSkip                          // report: scheduled run skipped, the last one still runs
	actDone                          // oneshot: report done (ready for its dependents)
)

type action struct {
	kind actionKind
	sig  unix.Signal
}

func signal(s unix.Signal) action { return action{kind: actSignal, sig: s} }

// stopNow is the down-signal, then CONT so a stopped process can act on it.
var stopNow = []action{{kind: actDownSignal}, signal(unix.SIGCONT)}

// next is the life cycle: from a state and an event, the new state and what
// to do. It is pure; the runtime does the actions and feeds back the events
// they cause. Every change is announced to the status files afterwards.
func next(s state, ev event) (state, []action) {
	if s.policy.kind == scheduled && ev.kind == evUp {
		ev.kind = evOnce // a job runs once when asked: svc -u runs it now
	}
	if s.stopping || s.noFinish { // past the deadline nothing starts either
		if s2, acts, ok := nextStopping(s, ev); ok {
			return s2, acts
		}
	}
	switch s.phase {
	case phaseDown:
		return nextDown(s, ev)
	case phaseUp:
		return nextUp(s, ev)
	case phaseFinish:
		return nextFinish(s, ev)
	case phaseWait:
		return nextWait(s, ev)
	default:
		return nextBackoff(s, ev)
	}
}

// nextStopping is the life cycle once the container stops: every service is
// wanted down and nothing starts again; a service gets its down-signal only
// when every service that depends on it has exited (evUnheld). Commands that
// would start or stop something are refused: the shutdown decides. Signals
// (svc -h, -k...) still reach the process. ok is false for the events that
// follow the ordinary table (exits, signals, pause).
func nextStopping(s state, ev event) (state, []action, bool) {
	switch ev.kind {
	case evUp, evOnce, evDown, evExit, evRemoved, evBackoffOver, evBlocked, evDepsReady, evShutdown, evProbe, evTick,
		evExitLater, evWantDown:
		return s, nil, true
	case evUnheld:
		s.held = false
		switch {
		case s.phase == phaseUp && !s.downSent:
			s.gotTerm, s.downSent, s.paused = true, true, false
			return s, stopNow, true
		case s.phase == phaseDown:
			s2, acts := undoOrRelease(s)
			return s2, acts, true
		}
		return s, nil, true
	case evDeadline: // nothing is wanted up any more, not even ./finish starts
		s.noFinish, s.wantUp = true, false
		return s, nil, true
	}
	return s, nil, false
}

// shutdown begins the stop of one service (evShutdown, in any phase).
func shutdown(s state, held bool) (state, []action) {
	s.stopping, s.wantUp, s.held = true, false, held
	switch s.phase {
	case phaseUp:
		if held || s.downSent {
			return s, nil
		}
		s.gotTerm, s.downSent, s.paused = true, true, false
		return s, stopNow
	case phaseFinish:
		return s, nil // released when ./finish is done
	case phaseBackoff:
		s.phase = phaseDown
		return s, []action{{kind: actCancelTimer}, {kind: actRelease}}
	case phaseDown:
		if held && s.done && s.policy.undo {
			return s, nil // ./undo once its dependents have exited (evUnheld)
		}
		return undoOrRelease(s)
	}
	s.phase = phaseDown
	return s, []action{{kind: actRelease}}
}

// undoOrRelease ends a stopping service that is down: a oneshot that is
// done runs ./undo first (released when it exits), unless the deadline is
// over.
func undoOrRelease(s state) (state, []action) {
	if s.done && s.policy.undo && !s.noFinish {
		s.phase, s.done = phaseFinish, false
		return s, []action{{kind: actUndo}}
	}
	return s, []action{{kind: actRelease}}
}

func nextDown(s state, ev event) (state, []action) {
	switch ev.kind {
	case evUp, evOnce: // asked for: the failures counted so far are forgotten (supervisorctl start after FATAL)
		s.wantUp = ev.kind == evUp
		s.fails, s.failsInRow, s.gaveUp, s.quick = 0, 0, false, false
		return started(s), []action{{kind: actStartRun}}
	case evDown, evWantDown:
		s.wantUp = false
	case evPause:
		s.paused = true
	case evCont:
		s.paused = false
	case evExit, evRemoved:
		s.wantUp, s.exiting = false, true
		return s, []action{{kind: actRelease}}
	case evExitLater: // nothing runs: over at once
		s.exiting = true
		return s, []action{{kind: actRelease}}
	case evShutdown:
		return shutdown(s, ev.held)
	case evDeadline: // nothing is wanted up any more, not even ./finish starts
		s.noFinish, s.wantUp = true, false
	case evTick:
		if s.policy.kind == scheduled {
			s.wantUp = false
			return started(s), []action{{kind: actStartRun}}
		}
	}
	return s, nil
}

func nextUp(s state, ev event) (state, []action) {
	switch ev.kind {
	case evUp:
		s.wantUp = true
	case evOnce, evWantDown:
		s.wantUp = false
	case evExitLater: // released once ./run and ./finish are over, whatever is wanted
		s.exiting = true
	case evDown, evExit, evRemoved:
		s.wantUp, s.paused, s.gotTerm, s.downSent = false, false, true, true
		s.exiting = s.exiting || ev.kind != evDown
		return s, stopNow
	case evPause:
		s.paused = true
		return s, []action{signal(unix.SIGSTOP)}
	case evCont:
		s.paused = false
		return s, []action{signal(unix.SIGCONT)}
	case evSignal:
		acts := []action{signal(ev.sig)}
		if ev.sig == unix.SIGTERM {
			s.gotTerm = true
			if !s.wantUp {
				acts = append(acts, signal(unix.SIGCONT))
			}
		}
		return s, acts
	case evRunDied:
		return runDied(s, ev)
	case evStartFailed: // it never ran: no ./finish
		s.quick = true
		s.fails++
		s.failsInRow++
		var acts []action
		if s.policy.kind == oneshot {
			s, acts = oneshotFailed(s)
		} else {
			s, acts = giveUpCheck(s)
		}
		s2, more := afterFinish(s)
		return s2, append(acts, more...)
	case evBlocked: // it never ran: wait for the dependencies
		s.phase = phaseWait
	case evShutdown:
		return shutdown(s, ev.held)
	case evDeadline: // nothing is wanted up any more, not even ./finish starts
		s.noFinish, s.wantUp = true, false
	case evProbe:
		return probed(s, ev)
	case evTick:
		return s, []action{{kind: actSkip}}
	}
	return s, nil
}

// probed takes a health probe's result: healthRetries failures in a row
// (not counted within the start period until one probe passed, as
// Docker's HEALTHCHECK --start-period) make the service unhealthy: it is
// reported and, unless health-action says mark, stopped with its
// down-signal — an exit that counts as a failure (backoff, max-restarts).
func probed(s state, ev event) (state, []action) {
	if s.policy.healthRetries == 0 {
		return s, nil // no probe (any more): a late result
	}
	if ev.ok {
		s.healthOK, s.healthFails, s.unhealthy = true, 0, false
		return s, nil
	}
	if ev.early && !s.healthOK {
		return s, nil
	}
	s.healthFails++
	if s.healthFails < s.policy.healthRetries || s.unhealthy {
		return s, nil
	}
	s.unhealthy = true
	acts := []action{{kind: actUnhealthy}}
	if s.policy.healthMark || !s.wantUp || s.downSent {
		return s, acts
	}
	s.healthKill, s.gotTerm, s.downSent, s.paused = true, true, true, false
	s.healthBadRun++
	return s, append(acts, stopNow...)
}

// runDied counts an exit of ./run: the quick failures that set the backoff,
// the failures in a row for max-restarts, the restarts svinit did not ask
// for; then ./finish runs (unless the deadline is over).
func runDied(s state, ev event) (state, []action) {
	requested := (s.gotTerm && !s.healthKill) || !s.wantUp
	success := s.policy.kind == oneshot && ev.code == 0
	s.quick = ev.lived < s.policy.started()
	if s.quick {
		s.fails++
	} else {
		s.fails = 0
	}
	if ev.lived >= steadyRun {
		s.failsInRow = 0
	}
	if !requested && !success {
		s.restarts++
		if ev.code != 0 {
			s.failsInRow++
		}
	}
	s.gaveUp = requested
	var acts []action
	switch {
	case success: // a oneshot is done: not run again until asked
		s.done, s.wantUp, s.gaveUp, s.fails, s.failsInRow, s.quick = true, false, false, 0, 0, false
		acts = append(acts, action{kind: actDone})
	case s.policy.kind == oneshot && !requested:
		s, acts = oneshotFailed(s)
	default:
		s, acts = giveUpCheck(s)
		if !requested && s.wantUp && s.policy.kind == longrun {
			s, acts = restartCheck(s, ev.code, acts)
		}
	}
	s.phase, s.gotTerm, s.downSent, s.paused, s.healthKill = phaseFinish, false, false, false, false
	s.unhealthy, s.healthFails, s.healthOK = false, 0, false // health is the running process's
	if s.noFinish {
		s2, more := afterFinish(s)
		return s2, append(acts, more...)
	}
	return s, append(acts, action{kind: actStartFinish})
}

// restartCheck applies start-retries and the restart policy to an exit
// svinit did not ask for: a failed start (it lived less than start-secs)
// is retried after the backoff until start-retries; a run that had
// started is restarted unless restart says never, or on-failure and its
// code is expected. Not restarted, it ended for good (an essential
// service then stops the container).
func restartCheck(s state, code int, acts []action) (state, []action) {
	switch {
	case s.quick:
		if n := s.policy.startTries; n > 0 && s.fails >= n {
			s.wantUp, s.gaveUp = false, true
			acts = append(acts, action{kind: actGiveUp})
		}
	case s.policy.restart == restartNever, s.policy.restart == restartOnFailure && s.policy.expected(code):
		s.wantUp, s.gaveUp = false, true
	}
	return s, acts
}

// started is how long ./run must live to have started.
func (p policy) started() time.Duration {
	if p.startSecs > 0 {
		return p.startSecs
	}
	return quickExit
}

// expected: code is one of exit-codes (0 without the file).
func (p policy) expected(code int) bool {
	if len(p.okCodes) == 0 {
		return code == 0
	}
	for _, c := range p.okCodes {
		if c == code {
			return true
		}
	}
	return false
}

// oneshotFailed: a oneshot that failed is tried again after the backoff
// (1 s, 2 s ... 30 s) until max-restarts; one with restart never (s6-rc's
// rule: a failed oneshot is not run again) or an essential one without
// max-restarts gives up at once — an essential one then stops the
// container with its code.
func oneshotFailed(s state) (state, []action) {
	s.quick = true
	if (s.policy.restart == restartNever || s.policy.essential && s.policy.maxRestarts == 0) && s.wantUp {
		s.wantUp, s.gaveUp = false, true
		return s, []action{{kind: actGiveUp}}
	}
	return giveUpCheck(s)
}

// giveUpCheck: past max-restarts failures in a row, a service wanted up is
// wanted down from now on.
func giveUpCheck(s state) (state, []action) {
	if max := s.policy.maxRestarts; max > 0 && s.failsInRow > max && s.wantUp {
		s.wantUp, s.gaveUp = false, true
		return s, []action{{kind: actGiveUp}}
	}
	return s, nil
}

func nextFinish(s state, ev event) (state, []action) {
	switch ev.kind {
	case evUp:
		s.wantUp = true
	case evDown, evOnce, evWantDown:
		s.wantUp = false
	case evExit, evRemoved:
		s.wantUp, s.exiting = false, true
	case evExitLater:
		s.exiting = true
	case evSignal:
		return s, []action{signal(ev.sig)}
	case evFinishDone:
		if s.policy.finish125 && ev.code == 125 && s.wantUp {
			s.wantUp, s.gaveUp = false, true // s6: ./finish says it failed for good
		}
		return afterFinish(s)
	case evShutdown:
		return shutdown(s, ev.held)
	case evDeadline: // nothing is wanted up any more, not even ./finish starts
		s.noFinish, s.wantUp = true, false
	case evTick:
		return s, []action{{kind: actSkip}}
	}
	return s, nil
}

// afterFinish decides what follows a finished ./run: stop supervising (the
// service or the container stops), restart at once, wait (it died quickly),
// or stay down — and, for an essential service that gave up, stop the
// container.
func afterFinish(s state) (state, []action) {
	s.gotTerm, s.downSent = false, false
	switch {
	case s.exiting || s.stopping || s.noFinish:
		s.phase = phaseDown
		return s, []action{{kind: actRelease}}
	case s.wantUp && s.quick:
		s.phase = phaseBackoff
		return s, []action{{kind: actBackoff}}
	case s.wantUp:
		return started(s), []action{{kind: actStartRun}}
	}
	s.phase = phaseDown
	if s.policy.essential && s.gaveUp && !s.fired && s.policy.kind != scheduled {
		s.fired = true
		return s, []action{{kind: actEssential}}
	}
	return s, nil
}

func nextBackoff(s state, ev event) (state, []action) {
	switch ev.kind {
	case evBackoffOver:
		return started(s), []action{{kind: actStartRun}}
	case evUp:
		s.wantUp = true
	case evOnce:
		s.wantUp = false
	case evDown, evWantDown:
		s.wantUp, s.phase = false, phaseDown
		return s, []action{{kind: actCancelTimer}}
	case evExit, evRemoved:
		s.wantUp, s.exiting, s.phase = false, true, phaseDown
		return s, []action{{kind: actCancelTimer}, {kind: actRelease}}
	case evExitLater: // nothing runs: over at once
		s.exiting, s.phase = true, phaseDown
		return s, []action{{kind: actCancelTimer}, {kind: actRelease}}
	case evPause:
		s.paused = true
	case evCont:
		s.paused = false
	case evShutdown:
		return shutdown(s, ev.held)
	case evDeadline: // nothing is wanted up any more, not even ./finish starts
		s.noFinish, s.wantUp = true, false
	}
	return s, nil
}

func nextWait(s state, ev event) (state, []action) {
	switch ev.kind {
	case evDepsReady:
		return started(s), []action{{kind: actStartRun}}
	case evUp:
		s.wantUp = true
	case evOnce:
		s.wantUp = false
	case evDown, evWantDown:
		s.wantUp, s.phase = false, phaseDown
	case evExit, evRemoved:
		s.wantUp, s.exiting, s.phase = false, true, phaseDown
		return s, []action{{kind: actRelease}}
	case evExitLater: // nothing runs: over at once
		s.exiting, s.phase = true, phaseDown
		return s, []action{{kind: actRelease}}
	case evPause:
		s.paused = true
	case evCont:
		s.paused = false
	case evShutdown:
		return shutdown(s, ev.held)
	case evDeadline: // nothing is wanted up any more, not even ./finish starts
		s.noFinish, s.wantUp = true, false
	case evTick:
		return s, []action{{kind: actSkip}}
	}
	return s, nil
}

// started is the state right after ./run is started.
func started(s state) state {
	s.phase, s.paused, s.gotTerm, s.downSent, s.done = phaseUp, false, false, false, false
	s.healthOK, s.unhealthy, s.healthKill, s.healthFails = false, false, false, 0
	return s
}

// String renders a state for --trace and the table test: the phase, then
// its flags ("up want-up term sent").
func (s state) String() string {
	r := s.phase.String()
	if s.wantUp {
		r += " want-up"
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{s.paused, "paused"}, {s.gotTerm, "term"}, {s.downSent, "sent"}, {s.quick, "quick"}, {s.exiting, "exiting"},
		{s.stopping, "stopping"}, {s.held, "held"}, {s.noFinish, "nofinish"}, {s.done, "done"}, {s.unhealthy, "unhealthy"}} {
		if f.on {
			r += " " + f.name
		}
	}
	return r
}

var actionNames = [...]string{"run", "finish", "", "DOWN", "backoff", "cancel", "release", "giveup", "essential",
	"undo", "unhealthy", "skip", "done"}

// actionsString renders actions compactly: "run", "finish", "TERM" (a
// signal), "DOWN" (the down-signal), "backoff", "cancel", "release",
// "giveup", "essential".
func actionsString(as []action) string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		if a.kind == actSignal {
			out = append(out, strings.TrimPrefix(unix.SignalName(a.sig), "SIG"))
			continue
		}
		out = append(out, actionNames[a.kind])
	}
	return strings.Join(out, ",")
}

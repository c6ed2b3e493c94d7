// Package supervisor keeps daemontools-style service directories running,
// all of them inside the one svinit process: a state machine per service,
// driven by one event loop.
package supervisor

import "golang.org/x/sys/unix"

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

// state is everything the life cycle decides on.
type state struct {
	phase   phase
	wantUp  bool
	paused  bool
	gotTerm bool // TERM sent to the current process
	quick   bool // the last ./run lived less than a second (or failed to start)
	exiting bool // x, or the directory was removed: stop, then forget it
}

// eventKind is what happened to a service.
type eventKind int

const (
	evUp           eventKind = iota // u: want up, start if down
	evDown                          // d: want down, TERM+CONT the process
	evOnce                          // o: start if down, never restart
	evPause                         // p: STOP
	evCont                          // c: CONT
	evSignal                        // h a i q 1 2 t k: send a signal
	evExit                          // x: stop, then stop supervising
	evRemoved                       // the directory is gone: the same as x
	evRunDied                       // ./run exited after living ≥ 1 s
	evRunDiedQuick                  // ./run exited within a second
	evStartFailed                   // ./run (or ./finish) could not be started
	evFinishDone                    // ./finish exited (or there is none)
	evBackoffOver                   // the wait before the next start is over
	evBlocked                       // ./run cannot start yet: a dependency is not ready
	evDepsReady                     // every dependency is ready now
	numEvents
)

var eventNames = [...]string{"up", "down", "once", "pause", "cont", "signal", "exit", "removed",
	"run died", "run died quickly", "start failed", "finish done", "backoff over", "blocked", "deps ready"}

func (e eventKind) String() string { return eventNames[e] }

// event is one eventKind with its signal (evSignal only).
type event struct {
	kind eventKind
	sig  unix.Signal
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
)

type action struct {
	kind actionKind
	sig  unix.Signal
}

func signal(s unix.Signal) action { return action{kind: actSignal, sig: s} }

// next is the life cycle: from a state and an event, the new state and what
// to do. It is pure; the runtime does the actions and feeds back the events
// they cause. Every change is announced to the status files afterwards.
func next(s state, ev event) (state, []action) {
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

func nextDown(s state, ev event) (state, []action) {
	switch ev.kind {
	case evUp, evOnce:
		s.wantUp = ev.kind == evUp
		return started(s), []action{{kind: actStartRun}}
	case evDown:
		s.wantUp = false
	case evPause:
		s.paused = true
	case evCont:
		s.paused = false
	case evExit, evRemoved:
		s.wantUp, s.exiting = false, true
		return s, []action{{kind: actRelease}}
	}
	return s, nil
}

func nextUp(s state, ev event) (state, []action) {
	switch ev.kind {
	case evUp:
		s.wantUp = true
	case evOnce:
		s.wantUp = false
	case evDown, evExit, evRemoved:
		s.wantUp, s.paused, s.gotTerm = false, false, true
		s.exiting = s.exiting || ev.kind != evDown
		return s, []action{{kind: actDownSignal}, signal(unix.SIGCONT)}
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
	case evRunDied, evRunDiedQuick:
		s.phase, s.gotTerm, s.paused = phaseFinish, false, false
		s.quick = ev.kind == evRunDiedQuick
		return s, []action{{kind: actStartFinish}}
	case evStartFailed: // it never ran: no ./finish
		s.quick = true
		return afterFinish(s)
	case evBlocked: // it never ran: wait for the dependencies
		s.phase = phaseWait
	}
	return s, nil
}

func nextFinish(s state, ev event) (state, []action) {
	switch ev.kind {
	case evUp:
		s.wantUp = true
	case evDown, evOnce:
		s.wantUp = false
	case evExit, evRemoved:
		s.wantUp, s.exiting = false, true
	case evSignal:
		return s, []action{signal(ev.sig)}
	case evFinishDone:
		return afterFinish(s)
	}
	return s, nil
}

// afterFinish decides what follows a finished ./run: stop supervising,
// restart at once, wait (it died quickly), or stay down.
func afterFinish(s state) (state, []action) {
	s.gotTerm = false
	switch {
	case s.exiting:
		s.phase = phaseDown
		return s, []action{{kind: actRelease}}
	case s.wantUp && s.quick:
		s.phase = phaseBackoff
		return s, []action{{kind: actBackoff}}
	case s.wantUp:
		return started(s), []action{{kind: actStartRun}}
	}
	s.phase = phaseDown
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
	case evDown:
		s.wantUp, s.phase = false, phaseDown
		return s, []action{{kind: actCancelTimer}}
	case evExit, evRemoved:
		s.wantUp, s.exiting, s.phase = false, true, phaseDown
		return s, []action{{kind: actCancelTimer}, {kind: actRelease}}
	case evPause:
		s.paused = true
	case evCont:
		s.paused = false
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
	case evDown:
		s.wantUp, s.phase = false, phaseDown
	case evExit, evRemoved:
		s.wantUp, s.exiting, s.phase = false, true, phaseDown
		return s, []action{{kind: actRelease}}
	case evPause:
		s.paused = true
	case evCont:
		s.paused = false
	}
	return s, nil
}

// started is the state right after ./run is started.
func started(s state) state {
	s.phase, s.paused, s.gotTerm = phaseUp, false, false
	return s
}

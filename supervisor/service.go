package supervisor

import (
	"time"

	"github.com/svinit/svinit/reaper"
	"github.com/svinit/svinit/supervisor/svdir"
)

// service is one supervised directory (a log/ directory is a service of its
// own, linked to its main service by a pipe svinit holds). Its parts, each
// with the code that uses it:
//   - state and config: the life cycle's input and its decisions (state.go,
//     config.go);
//   - processes: ./run or ./finish, and how the last one ended (here);
//   - backoff: the timer before the next start (supervisor.go);
//   - readiness: notification-fd, ./check, dependencies (ready.go);
//   - protocol: supervise/ and the control FIFO, with runit's control/
//     scripts (scan.go, custom.go);
//   - output: the log pipe to log/ and the prefixed output (scan.go).
type service struct {
	name     string // "web", or "web/log"
	dir      string // absolute path of the service directory
	ino      uint64 // identity: a directory replaced under the same name is new
	st       state
	s6       *s6state // the s6 layout's own record (s6.go); nil: daemontools
	cfg      config   // the service's optional files, read before each start
	released bool

	processes
	backoffTimer
	schedTimer
	readiness
	health
	protocol
	output
}

// processes is what runs for a service now and how the last ./run ended.
type processes struct {
	proc       *reaper.Proc // ./run or ./finish while one runs
	when       time.Time    // runit's status stamp: start of ./run, or became down
	started    time.Time    // when ./run started
	lastExit   string       // "exit 3", "signal 9 (SIGKILL)"
	lastCode   int          // the last exit of ./run as a code (128+N for a signal)
	lastErr    string       // why the last start failed
	finishArgs []string     // ./finish EXIT SIG for the last exit of ./run
	env        []string     // the environment env/ makes for its scripts (nil: svinit's)
}

// status is the 20-byte record for the current state.
func (v *service) status() svdir.Status {
	st := svdir.Status{When: v.when, Paused: v.st.paused, GotTerm: v.st.gotTerm, Want: 'd'}
	if v.st.wantUp {
		st.Want = 'u'
	}
	switch v.st.phase {
	case phaseUp:
		st.State = svdir.StateRun
	case phaseFinish:
		st.State = svdir.StateFinish
	}
	if v.proc != nil && (v.st.phase == phaseUp || v.st.phase == phaseFinish) {
		st.Pid = v.proc.Pid
	}
	if st.Pid == 0 {
		st.Paused = false
	}
	return st
}

// info is svinit's own status file content.
func (v *service) info() *svdir.Info {
	in := &svdir.Info{
		State:          v.stateText(),
		Ready:          v.isReady(),
		Waiting:        v.waiting,
		Restarts:       v.st.restarts,
		LastExit:       v.lastExit,
		LastError:      v.lastErr,
		Health:         v.healthText(),
		HealthFailures: v.st.healthFails,
		HealthOutput:   v.healthOut,
		EverReady:      v.everReady,
	}
	if v.st.policy.kind != longrun {
		in.Kind = v.st.policy.kind.String()
	}
	if v.st.phase == phaseBackoff {
		in.BackoffUntil = v.until.Unix()
	}
	if !v.started.IsZero() {
		in.LastStart = v.started.Unix()
	}
	if !v.nextRun.IsZero() {
		in.NextRun = v.nextRun.Unix()
	}
	return in
}

// stateText is the phase, or "done" for a oneshot that completed.
func (v *service) stateText() string {
	if v.st.phase == phaseDown && v.st.done {
		return "done"
	}
	return v.st.phase.String()
}

// isReady is the one readiness truth: a longrun is ready once up and its
// notification-fd newline or ./check (or built-in check) said so (at once
// without either); a oneshot once it is done.
func (v *service) isReady() bool {
	if v.st.policy.kind == oneshot {
		return v.st.done
	}
	return v.st.phase == phaseUp && v.ready
}

// backoff is the wait before the next start after quick failures: 1 s,
// doubling, at most 30 s.
func (v *service) backoff() time.Duration {
	d := time.Second << min(max(v.st.fails, 1)-1, 5)
	return min(d, 30*time.Second)
}

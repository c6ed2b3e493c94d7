package pid1

import (
	"errors"
	"runtime"
	"time"

	"github.com/svinit/svinit/internal/logmux"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/internal/syslogd"
	"github.com/svinit/svinit/reaper"
	"github.com/svinit/svinit/supervisor"
)

// PID 1's start-up is a short list of named steps (as u-root's libinit),
// taken in order, each a small function that can be tested alone: svinit's
// own in (*initProc).steps, tini's in NewTini, dumb-init's in NewDumbInit.
// What differs between the three is which steps, in which order, and the
// data they fill in — not branches inside a shared sequence.

// Step is one named part of a start-up. A step that fails ends the
// start-up: the program exits with the code it returns (errStop: say
// nothing more, the step has).
type Step struct {
	Name string
	Run  func() (code int, err error)
}

// errStop ends a start-up after the step has said what there is to say.
var errStop = errors.New("")

// runSteps takes steps in order until one fails.
func runSteps(steps []Step) (int, error) {
	for _, st := range steps {
		if code, err := st.Run(); err != nil {
			svlog.Trace("start-up step %s: exit code %d", st.Name, code)
			return code, err
		}
	}
	return 0, nil
}

// ok makes a step of a function that cannot fail.
func ok(f func()) func() (int, error) {
	return func() (int, error) { f(); return 0, nil }
}

// steps is svinit's start-up as PID 1, in order. Signals are registered
// first: a Go PID 1 without a handler for SIGTERM ignores docker stop, and
// no child may start before.
func (in *initProc) steps() []Step {
	return []Step{
		{"signals", ok(in.stepSignals)},
		{"collector", ok(in.stepCollector)},
		{"gomaxprocs", ok(setGOMAXPROCS)},
		{"subreaper", ok(becomeReaper)},
		{"reaper", ok(in.stepReaper)},
		{"secrets", in.stepSecrets}, // before s6-overlay saves the environment
		{"s6-overlay", ok(in.stepS6Overlay)},
		{"http", ok(in.stepHTTP)},
		{"log-format", ok(in.stepLogFormat)},
		{"syslog", ok(in.stepSyslog)},
		{"supervisor", ok(in.stepSupervisor)},
		{"main-command", ok(in.stepMainCommand)},
	}
}

// stepSignals registers for every signal, and the main thread will wait
// for the ones passed on (sigwait.go).
func (in *initProc) stepSignals() {
	in.sigs = notifyAll()
	in.queries = make(chan func(), 16)
	in.waiter = newSigWaiter(in.cfg.Group)
}

// stepCollector: PID 1 lives long and allocates little: collect at +25 %,
// and not at all while nothing happens (quiet.go).
func (in *initProc) stepCollector() { in.quiet = newQuiet() }

// setGOMAXPROCS: one P. The loop, the reaper and the log copier hand work
// to each other on one thread instead of waking a second, and an explicit
// GOMAXPROCS stops the runtime re-reading the cgroup's CPU limit each time
// it wakes.
func setGOMAXPROCS() { runtime.GOMAXPROCS(1) }

// stepReaper makes the reaper, and its spawner before the services' fds
// are open: each start then costs the same at 10 services as at 10,000
// (reaper/spawner.go).
func (in *initProc) stepReaper() {
	in.reaper = reaper.New()
	if err := in.reaper.UseSpawner(); err != nil {
		svlog.Info("%v: each start forks with every open fd (slower with hundreds of services; Docker's default seccomp profile denies unshare)", err)
	}
}

// stepHTTP serves /livez, /readyz and /metrics with --http; a failure is a
// warning, not the end of PID 1.
func (in *initProc) stepHTTP() {
	if in.cfg.HTTP == "" {
		return
	}
	if err := in.serveHTTP(in.cfg.HTTP); err != nil {
		svlog.Warn("unable to serve HTTP on %s: %v", in.cfg.HTTP, err)
	}
}

func (in *initProc) stepLogFormat() {
	svlog.SetJSON(in.cfg.LogJSON)
	svlog.SetTrace(in.cfg.Trace)
}

// stepSyslog listens on /dev/log (or --syslog-socket) with --syslog.
func (in *initProc) stepSyslog() {
	if in.cfg.Syslog == "" {
		return
	}
	if err := syslogd.Listen(in.cfg.Syslog); err != nil {
		svlog.Warn("unable to listen on %s: %v: syslog messages are lost", in.cfg.Syslog, err)
	}
}

// stepSupervisor makes the supervisor of the service tree, when there is
// one; it starts the services in run.
func (in *initProc) stepSupervisor() {
	if in.cfg.ServiceDir == "" {
		return
	}
	logs, err := logmux.New()
	if err != nil {
		svlog.Warn("unable to copy the services' output: %v: they write to svinit's stdout unprefixed", err)
	}
	in.sup = supervisor.New(in.cfg.ServiceDir, in.reaper, supervisor.Options{
		Logs: logs, Rescan: in.cfg.Rescan, Grace: in.cfg.Grace, Protocol: in.cfg.Protocol,
	})
}

// stepMainCommand: the main command waits to be started, for the services'
// readiness (at most --ready-timeout) when there are services.
func (in *initProc) stepMainCommand() {
	if len(in.cfg.Argv) == 0 {
		return
	}
	in.pending = true
	if in.sup != nil {
		in.timers.ready = time.NewTimer(in.cfg.ReadyWait)
	}
}

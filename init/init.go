package pid1

import (
	"errors"
	"os"
	"time"

	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"github.com/svinit/svinit/supervisor"
	"golang.org/x/sys/unix"
)

// killRetry is how often, once the grace period is over, svinit looks again
// for processes of its tree that are still alive (a process may fork while
// it is being killed).
const killRetry = 100 * time.Millisecond

// phase is where PID 1 is in its life.
type phase int

const (
	running  phase = iota // the main command and the services run
	draining              // stopping: TERM sent, the grace period runs
	killing               // the grace period is over: KILL what is left
)

// initProc is PID 1's state. One goroutine, the loop, owns all of it.
type initProc struct {
	cfg    Config
	sigs   chan os.Signal
	reaper *reaper.Reaper
	sup    *supervisor.Supervisor // nil without a service tree
	phase  phase
	main   *reaper.Proc // the main command while it runs; nil without one
	code   int          // the exit code: the main command's, once it exited
	grace  *time.Timer
	retry  *time.Ticker
}

// Run is svinit as PID 1 (or a subreaper): it supervises the service tree,
// runs the main command, and returns the exit code svinit must exit with;
// only cmd/ calls os.Exit.
func Run(cfg Config) int {
	in := &initProc{cfg: cfg, sigs: notifyAll()}
	becomeReaper()
	in.reaper = reaper.New()
	if cfg.ServiceDir != "" {
		in.sup = supervisor.New(cfg.ServiceDir, in.reaper, supervisor.Options{
			Rescan: cfg.Rescan, Grace: cfg.Grace, OnShutdown: in.stop,
		})
		in.sup.Start()
	}
	if len(cfg.Argv) > 0 {
		p, err := in.reaper.Start(mainSpec(cfg.Argv))
		if err != nil {
			svlog.Fatal("%v", err)
			in.code = startErrorCode(err)
			if in.sup == nil {
				return in.code
			}
			in.stop()
		}
		in.main = p
	}
	return in.loop()
}

func startErrorCode(err error) int {
	var se *reaper.StartError
	if errors.As(err, &se) {
		return se.Code()
	}
	return 126
}

// mainSpec starts the main command in a process group of its own; with a
// controlling terminal on stdin, that group becomes the terminal's foreground.
func mainSpec(argv []string) reaper.Spec {
	return reaper.Spec{Path: argv[0], Argv: argv, Pgid: true, Foreground: stdinIsCtty()}
}

func stdinIsCtty() bool {
	_, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil
}

func (in *initProc) loop() int {
	for {
		select {
		case s := <-in.sigs:
			in.onSignal(s.(unix.Signal))
		case <-in.reaper.Ready():
			exits, _ := in.reaper.Take()
			for _, e := range exits {
				in.onExit(e)
			}
		case f := <-in.supEvents():
			f()
		case <-timerC(in.grace):
			in.startKilling()
		case <-tickerC(in.retry):
			signalTree(unix.SIGKILL, nil)
		}
		if in.finished() {
			return in.cfg.ExitCode(in.code)
		}
	}
}

func (in *initProc) supEvents() <-chan func() {
	if in.sup == nil {
		return nil
	}
	return in.sup.Events()
}

// finished: stopping, every service released, and no process left.
func (in *initProc) finished() bool {
	return in.phase != running && (in.sup == nil || in.sup.Done()) && in.reaper.Empty()
}

// onSignal passes a signal on to the main command. Without one, TERM and
// INT stop everything and HUP rescans the service tree.
func (in *initProc) onSignal(sig unix.Signal) {
	if in.phase != running {
		return
	}
	if in.main != nil {
		if Forwardable(sig) {
			in.forward(sig)
		}
		return
	}
	switch sig {
	case unix.SIGTERM, unix.SIGINT:
		in.stop()
	case unix.SIGHUP:
		in.sup.Rescan()
	}
}

func (in *initProc) forward(sig unix.Signal) {
	target := in.main.Pid
	if in.cfg.Group {
		target = -in.main.Pid
	}
	if err := unix.Kill(target, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		svlog.Warn("unable to forward %s to %d: %v", unix.SignalName(sig), target, err)
	}
}

func (in *initProc) onExit(e reaper.Exit) {
	if in.main != nil && e.Proc == in.main {
		in.main = nil
		in.code = e.Code()
		in.stop()
		return
	}
	if in.sup != nil {
		in.sup.OnExit(e)
	}
}

// stop begins the end: the services are stopped, the rest of svinit's tree
// gets TERM, and the grace period starts.
func (in *initProc) stop() {
	if in.phase != running {
		return
	}
	in.phase = draining
	var spare []int
	if in.sup != nil {
		in.sup.Shutdown()
		spare = in.sup.Pids()
	}
	signalTree(unix.SIGTERM, spare)
	in.grace = time.NewTimer(in.cfg.Grace)
}

func (in *initProc) startKilling() {
	in.phase = killing
	in.grace = nil
	if in.sup != nil {
		in.sup.StopStarting()
	}
	if n := signalTree(unix.SIGKILL, nil); n > 0 {
		svlog.Warn("grace period of %v is over: killed %d remaining processes", in.cfg.Grace, n)
	}
	in.retry = time.NewTicker(killRetry)
}

func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func tickerC(t *time.Ticker) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

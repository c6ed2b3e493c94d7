package pid1

import (
	"errors"
	"os"
	"time"

	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// killRetry is how often, once the grace period is over, svinit looks again
// for processes of its tree that are still alive (a process may fork while
// it is being killed).
const killRetry = 100 * time.Millisecond

// phase is where PID 1 is in its life.
type phase int

const (
	running  phase = iota // the main command runs
	draining              // it exited; the rest got TERM and has the grace period
	killing               // the grace period is over; the rest gets KILL
)

// initProc is PID 1's state. One goroutine, the loop, owns all of it.
type initProc struct {
	cfg    Config
	sigs   chan os.Signal
	reaper *reaper.Reaper
	phase  phase
	main   *reaper.Proc
	code   int // the main command's code, once it exited
	grace  *time.Timer
	retry  *time.Ticker
}

// Run is svinit as PID 1 (or a subreaper) around one main command. It returns
// the exit code svinit must exit with; only cmd/ calls os.Exit.
func Run(cfg Config) int {
	in := &initProc{cfg: cfg, sigs: notifyAll()}
	becomeReaper()
	in.reaper = reaper.New()
	p, err := in.reaper.Start(mainSpec(cfg.Argv))
	if err != nil {
		svlog.Fatal("%v", err)
		var se *reaper.StartError
		if errors.As(err, &se) {
			return se.Code()
		}
		return 126
	}
	in.main = p
	return in.loop()
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
			exits, empty := in.reaper.Take()
			for _, e := range exits {
				in.onExit(e)
			}
			if empty && in.phase != running {
				return in.cfg.ExitCode(in.code)
			}
		case <-timerC(in.grace):
			in.startKilling()
		case <-tickerC(in.retry):
			signalTree(unix.SIGKILL)
		}
	}
}

// onSignal passes a signal on to the main command while it runs.
func (in *initProc) onSignal(sig unix.Signal) {
	if in.phase == running && Forwardable(sig) {
		in.forward(sig)
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
	if e.Proc != in.main {
		return
	}
	in.code = e.Code()
	in.phase = draining
	if signalTree(unix.SIGTERM) > 0 {
		in.grace = time.NewTimer(in.cfg.Grace)
	}
}

func (in *initProc) startKilling() {
	in.phase = killing
	in.grace = nil
	if n := signalTree(unix.SIGKILL); n > 0 {
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

package pid1

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"github.com/svinit/svinit/supervisor"
	"golang.org/x/sys/unix"
)

// killRetry is how often, once the deadline is over, svinit looks again for
// processes of its tree that are still alive (a process may fork while it
// is being killed).
const killRetry = 100 * time.Millisecond

// phase is where PID 1 is in its life.
type phase int

const (
	running  phase = iota // the main command and the services run
	draining              // SIGTERM came: everything stays up for --drain
	stopping              // stop signals sent; the deadline runs
	killing               // the deadline is over: KILL what is left
)

// initProc is PID 1's state. One goroutine, the loop, owns all of it.
type initProc struct {
	cfg           Config
	sigs          chan os.Signal
	reaper        *reaper.Reaper
	sup           *supervisor.Supervisor // nil without a service tree
	phase         phase
	main          *reaper.Proc // the main command while it runs
	pending       bool         // the main command waits for the services to be ready
	code          int          // the exit code
	codeFixed     bool         // an essential service or a timeout chose the code
	stopSig       unix.Signal  // the signal that began the shutdown
	mainTold      bool         // the stop signal was passed to the main command
	supTold       bool         // the supervisor was told to shut down
	mainGone      bool         // the trace said the services stop (step 2)
	mainForwarded bool         // the main command got the stop signal
	mainGoneTold  bool         // the supervisor was told the main command is gone
	treeTold      bool         // the rest of svinit's tree got its TERM
	stopAt        time.Time    // when the shutdown began
	queries       chan func()  // the HTTP server's questions, answered by the loop
	waiter        *sigWaiter   // the main thread, passing signals on (sigwait.go)
	quiet         *quiet       // the collector paced only while something happens
	timers        timers
	term          termination // why a failure exit fails, for --termination-log (termination.go)
	s6            *s6State    // svinit as s6-overlay's /init (s6overlay.go); nil otherwise
}

// timers are the loop's own deadlines (nil channels while unset).
type timers struct {
	ready    *time.Timer  // --ready-timeout for the main command
	drain    *time.Timer  // --drain
	deadline *time.Timer  // --grace, from the start of the shutdown
	hardStop *time.Timer  // deadline + 1 s: exit whatever is left
	retry    *time.Ticker // KILL again what is still there
}

// Run is svinit as PID 1 (or a subreaper): it supervises the service tree,
// runs the main command, and returns the exit code svinit must exit with;
// only cmd/ calls os.Exit.
func Run(cfg Config) int {
	in := &initProc{cfg: cfg}
	// svinit's steps warn and go on; only one fails: a secret file that
	// cannot be read (secrets.go), before anything has started.
	if c, err := runSteps(in.steps()); err != nil {
		writeTermination(in.cfg.TerminationLog, in.term.reason, c)
		return c
	}
	// Everything else runs on another goroutine, so no child is forked by
	// the main thread and inherits the signals it blocks.
	code := make(chan int, 1)
	go func() {
		code <- in.run()
		in.waiter.stop()
	}()
	in.waiter.wait(in.reaper, in.sigs)
	c := <-code
	in.s6.stopLogger()
	c = in.s6.exitCode(c)
	writeTermination(in.cfg.TerminationLog, in.term.reason, c)
	return c
}

// run starts the services and the main command, then runs the loop.
func (in *initProc) run() int {
	if in.runPrelude() {
		return in.loop()
	}
	if in.sup != nil {
		in.sup.Start()
		in.takeNotices()
	}
	in.maybeStartMain()
	return in.loop()
}

// maybeStartMain starts the main command once every service wanted up is
// up and ready (at once without services).
func (in *initProc) maybeStartMain() {
	if !in.pending || in.phase != running || (in.sup != nil && len(in.sup.Pending()) > 0) {
		return
	}
	if in.sup != nil {
		if stuck := in.sup.NotReady(); len(stuck) > 0 {
			svlog.Warn("starting %s: not waiting for the services whose dependency gave up: %s", in.cfg.Argv[0], strings.Join(stuck, ", "))
		}
	}
	in.startMain()
}

// startMain starts the main command now.
func (in *initProc) startMain() {
	in.pending = false
	stopTimer(in.timers.ready)
	in.timers.ready = nil
	spec := mainSpec(in.cfg.Argv)
	spec.Files = in.s6.mainFiles()
	p, err := in.reaper.Start(spec)
	if err != nil {
		svlog.Fatal("%v", err)
		in.term.failed("main command: %v", err)
		in.setCode(startErrorCode(err))
		in.stop()
		return
	}
	in.main = p
	in.publishMain()
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
	if in.finished() {
		return in.code
	}
	for {
		select {
		case s := <-in.sigs:
			in.onSignal(s.(unix.Signal))
		case <-in.reaper.Ready():
			exits := in.reaper.Take()
			for _, e := range exits {
				in.onExit(e)
			}
		case f := <-in.supEvents():
			f()
		case f := <-in.queries:
			f()
		case <-timerC(in.timers.ready):
			in.readyTimeout()
		case <-timerC(in.timers.drain):
			in.timers.drain = nil
			in.sendStop()
		case <-timerC(in.timers.deadline):
			in.startKilling()
		case <-timerC(in.timers.hardStop):
			svlog.Warn("processes of svinit's tree are still there 1s after the deadline (uninterruptible?): exiting anyway")
			return in.code
		case <-tickerC(in.timers.retry):
			signalTree(unix.SIGKILL)
		case <-in.quiet.C():
			in.quiet.settle()
			continue
		}
		in.quiet.activity()
		in.takeNotices()
		in.progress()
		in.publishMain()
		if in.finished() {
			return in.code
		}
	}
}

func (in *initProc) supEvents() <-chan func() {
	if in.sup == nil {
		return nil
	}
	return in.sup.Events()
}

// finished: stopping, the main command gone, every service released, and no
// process left.
func (in *initProc) finished() bool {
	return in.phase >= stopping && in.main == nil && (in.sup == nil || in.sup.Done()) && in.reaper.Empty()
}

// What onSignal does with a signal.
type signalAction int

const (
	ignoreSignal signalAction = iota
	beginStopSignal
	forwardSignal
	rescanSignal
)

// signalAction: TERM and INT begin the shutdown; while the main command runs
// the others are passed on to it; without one, HUP rescans the service tree.
func (in *initProc) signalAction(sig unix.Signal) signalAction {
	switch {
	case (sig == unix.SIGTERM || sig == unix.SIGINT) && in.phase == running:
		return beginStopSignal
	case in.main != nil && in.phase <= stopping && Forwardable(sig):
		return forwardSignal
	case sig == unix.SIGHUP && in.sup != nil && in.phase == running:
		return rescanSignal
	}
	return ignoreSignal
}

func (in *initProc) onSignal(sig unix.Signal) {
	switch in.signalAction(sig) {
	case beginStopSignal:
		in.beginStop(sig)
	case forwardSignal:
		in.forward(sig)
	case rescanSignal:
		in.sup.Rescan()
	}
}

// publishMain tells the main thread the main command and the signals it may
// pass on to it without the loop: those signalAction would only forward now.
// After every event of the loop (a phase or the main command may have
// changed); publish does nothing when nothing has.
func (in *initProc) publishMain() {
	var mask uint64
	for _, s := range ForwardableSignals() {
		if in.signalAction(s) == forwardSignal {
			mask |= sigBit(s)
		}
	}
	in.waiter.publish(in.reaper, in.main, mask)
}

func (in *initProc) forward(sig unix.Signal) { forward(in.reaper, in.main, sig, in.cfg.Group) }

// forward passes sig on to the main command p (its group with group), from
// the loop or from the main thread (sigwait.go).
func forward(r *reaper.Reaper, p *reaper.Proc, sig unix.Signal, group bool) {
	if err := r.Signal(p, sig, group); err != nil && !errors.Is(err, unix.ESRCH) {
		svlog.Warn("unable to forward %s to %d: %v", unix.SignalName(sig), p.Pid, err)
	}
}

func (in *initProc) onExit(e reaper.Exit) {
	if in.main != nil && e.Proc == in.main {
		in.main = nil
		in.mainExited(e.Code())
		in.s6.mainExited(e.Code())
		in.setCode(e.Code())
		in.stop()
		return
	}
	if in.sup != nil {
		in.sup.OnExit(e)
	}
}

func (in *initProc) setCode(code int) {
	if !in.codeFixed {
		in.code = in.cfg.ExitCode(code)
	}
}

// takeNotices acts on what the supervisor has told since the last event;
// acting may cause more (Shutdown with nothing left to stop: NoticeStopped).
func (in *initProc) takeNotices() {
	if in.sup == nil {
		return
	}
	for ns := in.sup.Notices(); len(ns) > 0; ns = in.sup.Notices() {
		for _, n := range ns {
			switch n.Kind {
			case supervisor.NoticeReadiness:
				in.maybeStartMain()
			case supervisor.NoticeStop:
				in.beginStop(unix.SIGTERM)
			case supervisor.NoticeEssential:
				in.essentialGaveUp(n.Name, n.Code)
			}
		}
	}
}

// beginStop is SIGTERM or SIGINT (or svscanctl -t): the deadline starts
// now; after --drain, the stop signals go out.
func (in *initProc) beginStop(sig unix.Signal) {
	if in.phase != running {
		return
	}
	in.stopSig = sig
	in.startDeadline()
	in.pending = false
	if in.cfg.Drain > 0 {
		in.phase = draining
		in.timers.drain = time.NewTimer(in.cfg.Drain)
		return
	}
	in.sendStop()
}

// sendStop is the end of --drain: the shutdown begins.
func (in *initProc) sendStop() { in.stop() }

// stop is the shutdown, from whatever began it (a signal, the main command's
// exit, an essential service giving up, --ready-timeout, svscanctl -t): the
// deadline starts if it has not, and progress takes the steps in order.
func (in *initProc) stop() {
	if in.phase >= stopping {
		return
	}
	in.phase = stopping
	in.pending = false
	if in.stopSig == 0 {
		in.stopSig = unix.SIGTERM
	}
	in.startDeadline()
	in.progress()
}

// progress takes the shutdown's next step once the one before is over:
//  1. nothing starts or restarts any more; the main command gets the stop
//     signal and is waited for (it holds every service: they keep running);
//  2. the services stop, in reverse dependency order (the supervisor);
//  3. once every service has exited, the rest of svinit's tree (orphans,
//     what services left behind) gets TERM;
//  4. at the deadline, KILL for whatever is left (startKilling).
func (in *initProc) progress() {
	if in.phase != stopping {
		return
	}
	if in.main != nil && !in.mainTold {
		in.mainTold = true
		svlog.Trace("shutdown 1/3: nothing starts any more; %s to the main command (pid %d)", unix.SignalName(in.stopSig), in.main.Pid)
	}
	if in.main == nil && !in.mainGone {
		in.mainGone = true
		svlog.Trace("shutdown 2/3: the services stop, in reverse dependency order")
	}
	if in.sup != nil && !in.supTold {
		in.supTold = true
		in.sup.Shutdown(in.main != nil)
		in.takeNotices()
	}
	if in.main != nil {
		if !in.mainForwarded {
			in.mainForwarded = true
			in.forward(in.stopSig)
		}
		return
	}
	if in.sup != nil && !in.mainGoneTold {
		in.mainGoneTold = true
		in.sup.MainExited()
		in.takeNotices()
	}
	if (in.sup == nil || in.sup.Done()) && !in.treeTold {
		in.treeTold = true
		n := signalTree(unix.SIGTERM)
		svlog.Trace("shutdown 3/3: every service has exited: TERM to the %d other processes of the tree", n)
	}
}

func (in *initProc) startDeadline() {
	if in.timers.deadline == nil {
		in.stopAt = time.Now()
		in.timers.deadline = time.NewTimer(in.cfg.Grace)
	}
}

func (in *initProc) startKilling() {
	in.phase = killing
	in.timers.deadline = nil
	if in.sup != nil {
		if !in.supTold {
			in.supTold = true
			in.sup.Shutdown(false)
		}
		in.sup.Deadline()
	}
	if n := signalTree(unix.SIGKILL); n > 0 {
		svlog.Warn("shutdown deadline of %v is over: killed %d remaining processes", in.cfg.Grace, n)
	}
	in.timers.retry = time.NewTicker(killRetry)
	in.timers.hardStop = time.NewTimer(time.Second)
}

// readyTimeout: the services were not ready in time for the main command.
func (in *initProc) readyTimeout() {
	in.timers.ready = nil
	if !in.pending {
		return
	}
	if in.cfg.ReadyProceed {
		svlog.Warn("services not ready after %v: starting %s anyway: %s", in.cfg.ReadyWait, in.cfg.Argv[0],
			strings.Join(in.sup.NotReady(), ", "))
		in.startMain()
		return
	}
	svlog.Fatal("services not ready after %v, not starting %s: %s", in.cfg.ReadyWait, in.cfg.Argv[0],
		strings.Join(in.sup.NotReady(), ", "))
	in.term.failed("services not ready after %v: %s", in.cfg.ReadyWait, strings.Join(in.sup.NotReady(), ", "))
	in.code, in.codeFixed = ReadyTimeoutCode, true
	in.stop()
}

// essentialGaveUp: an essential service will not run again; everything
// stops and svinit exits with that service's code.
func (in *initProc) essentialGaveUp(name string, code int) {
	if in.phase != running {
		return
	}
	svlog.Fatal("essential service %s gave up (exit code %d): stopping everything", name, code)
	in.term.failed("%s", essentialReason(in.cfg.ServiceDir, name, code))
	in.code, in.codeFixed = code, true
	in.stop()
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
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

package pid1

import (
	"fmt"

	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// Prelude is a start-up that runs on the loop's goroutine before the
// services and the main command: my_init's start-up files
// (internal/myinit). run starts argv and returns its exit code once the
// reaper has seen it exit; its error says TERM or INT came meanwhile (the
// signal was passed on, and the start-up must end). A Prelude that returns
// an error ends the start-up with code (its message, if any, logged): no
// service and no main command start, what the files left behind is
// stopped as in any shutdown.
type Prelude func(run func(argv []string) (int, error)) (code int, err error)

// runPrelude runs cfg.Prelude; true when the start-up has ended and the
// loop is to take the shutdown.
func (in *initProc) runPrelude() bool {
	if in.cfg.Prelude == nil {
		return false
	}
	code, err := in.cfg.Prelude(in.runToEnd)
	if in.timers.ready != nil {
		in.timers.ready.Reset(in.cfg.ReadyWait) // the wait for the services begins now
	}
	if err == nil {
		return false
	}
	if msg := err.Error(); msg != "" {
		svlog.Fatal("%s", msg)
		in.term.failed("%s", msg)
	}
	in.sup = nil // made, never started
	in.pending = false
	stopTimer(in.timers.ready)
	in.timers.ready = nil
	in.code, in.codeFixed = code, true
	in.stop()
	return true
}

// runToEnd starts argv and waits, on this goroutine, for its exit: the
// reaper's exits of other processes (orphans: nothing else runs yet) are
// dropped. TERM and INT are passed on to it and end the start-up; at the
// deadline (--grace from that signal) everything is KILLed.
func (in *initProc) runToEnd(argv []string) (int, error) {
	p, err := in.reaper.Start(reaper.Spec{Path: argv[0], Argv: argv})
	if err != nil {
		svlog.Warn("%v", err)
		return startErrorCode(err), nil
	}
	var interrupted error
	for {
		select {
		case s := <-in.sigs:
			sig := s.(unix.Signal)
			if sig != unix.SIGTERM && sig != unix.SIGINT {
				continue
			}
			if interrupted == nil {
				interrupted = fmt.Errorf("%s during %s", unix.SignalName(sig), argv[0])
				in.sup = nil // will not start
				in.stopSig = sig
				in.startDeadline()
			}
			forward(in.reaper, p, sig, false)
		case <-in.reaper.Ready():
			for _, e := range in.reaper.Take() {
				if e.Proc == p {
					return e.Code(), interrupted
				}
			}
		case f := <-in.queries:
			f()
		case <-timerC(in.timers.deadline):
			in.startKilling()
		case <-tickerC(in.timers.retry):
			signalTree(unix.SIGKILL)
		}
	}
}

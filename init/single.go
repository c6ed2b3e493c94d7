package pid1

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"

	"github.com/svinit/svinit/internal/chain"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// Single is an init for one child, the way tini and dumb-init are one: it
// starts the child, passes signals on to it, reaps whatever comes back to
// it, and exits with the child's code the moment the child is gone — no
// service tree, no shutdown sequence, no deadline, nothing killed. tini.go
// and dumbinit.go fill it from those programs' flags; what differs between
// them is data here and the list of start-up steps (Steps), not branches in
// the loop.
type Single struct {
	Argv  []string
	Steps []Step // the start-up, in order (NewTini, NewDumbInit)

	// Spec is how the child is started (process group, session, terminal);
	// the steps fill it in.
	Spec reaper.Spec
	// ChildMask and ChildIgnore are the signal mask and the ignored signals
	// the child must start with (a bit per signal, 1 << (sig-1)); when Go's
	// own fork would give it something else, the child goes through
	// SigExec first.
	ChildMask, ChildIgnore uint64
	// ExecFailure is the style of the message and exit code when the
	// program cannot be executed ("tini" or "dumb-init": see execFailure).
	ExecFailure string

	Group    bool                        // signals go to the child's process group (-pid)
	Rewrite  map[unix.Signal]unix.Signal // a received signal is sent on as another; 0: not at all
	Drop     map[unix.Signal]bool        // received and kept (tini: TTIN, TTOU, the faults)
	StopSelf map[unix.Signal]bool        // after passing it on, stop (dumb-init: TSTP, TTIN, TTOU)
	SkipOnce map[unix.Signal]bool        // the next one of these is not passed on (dumb-init's tty hand-off)
	// ExitSignal, when the child has exited, goes to its process group
	// (dumb-init: TERM, rewritten like any other, to what the child left).
	ExitSignal unix.Signal
	ZeroCodes  map[int]bool // tini -e: these exit codes become 0
	Orphans    bool         // report every orphan reaped (tini -w, dumb-init -v)

	Log    SingleLog
	Stdout io.Writer // tini's INFO and DEBUG lines
	Stderr io.Writer

	reaper *reaper.Reaper
	sigs   chan os.Signal
	child  *reaper.Proc
}

// SingleLog says what the init reports at each point, in that program's
// words; a nil function says nothing.
type SingleLog struct {
	Spawned      func(s *Single, pid int)
	Received     func(s *Single, sig unix.Signal)
	Forwarded    func(s *Single, from, to unix.Signal, err error)
	Reaped       func(s *Single, pid int, ws unix.WaitStatus, main bool)
	Exiting      func(s *Single, code int)
	StoppingSelf func(s *Single, sig unix.Signal)
}

// RunSingle takes the start-up steps in order, then forwards and reaps
// until the child is gone, and returns the exit code.
func (s *Single) RunSingle() int {
	if code, err := runSteps(s.Steps); err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(s.Stderr, msg)
		}
		return code
	}
	return s.loop()
}

// notifySingle registers for every signal the loop may pass on, before the
// child starts; the others keep the Go runtime's handling.
func (s *Single) notifySingle() {
	s.sigs = make(chan os.Signal, 1024)
	for sig := unix.Signal(1); sig <= 64; sig++ {
		if singleReceives(sig) {
			signal.Notify(s.sigs, sig)
		}
	}
	setDefault(int(unix.SIGCHLD))
}

// singleReceives: every signal but SIGCHLD (the reaper's), SIGKILL and
// SIGSTOP (no one can), 32-34 (libc's and the runtime's) and SIGURG: the Go
// runtime sends SIGURG to its own threads to preempt a goroutine that has
// run 10 ms of wall-clock time — which on a loaded machine happens even to
// a loop that only waits — and os/signal cannot tell those from a SIGURG
// another process sent. Passing it on would give the child SIGURGs no one
// sent (dumb-init's own signal test, run under load, shows them); not
// passing it on loses a real one, which by default is ignored anyway.
func singleReceives(sig unix.Signal) bool {
	switch sig {
	case unix.SIGCHLD, unix.SIGKILL, unix.SIGSTOP, unix.SIGURG, 32, 33, 34:
		return false
	}
	return true
}

// startReaper makes the reaper, the only place that waits for children.
func (s *Single) startReaper() {
	s.reaper = reaper.New()
	if s.Orphans {
		s.reaper.QueueOrphans()
	}
}

// spawn starts the child: directly where Go's fork gives it the signal
// state it must have, else through SigExec, which sets it and executes the
// program in the same process.
func (s *Single) spawn() (int, error) {
	spec := s.Spec
	spec.Path, spec.Argv = s.Argv[0], s.Argv
	if s.ChildMask != goChildMask() || s.ChildIgnore != 0 {
		spec = s.viaSigExec(spec)
	}
	p, err := s.reaper.Start(spec)
	if err != nil && spec.Path != sigExecPath {
		// The program cannot be executed: as in tini and dumb-init, a child
		// says so and exits with their code (SigExec fails the same way),
		// and that exit is the child's like any other (-e applies).
		p, err = s.reaper.Start(s.viaSigExec(spec))
	}
	if err != nil {
		return execFailure(s.ExecFailure, os.Getpid(), s.Argv[0], err, s.Stderr), errStop
	}
	s.child = p
	if s.Log.Spawned != nil {
		s.Log.Spawned(s, p.Pid)
	}
	return 0, nil
}

// sigExecPath is svinit itself, for SigExec.
const sigExecPath = "/proc/self/exe"

// viaSigExec starts the program through SigExec, which gives it ChildMask
// and ChildIgnore.
func (s *Single) viaSigExec(spec reaper.Spec) reaper.Spec {
	spec.Path = sigExecPath
	spec.Argv = append([]string{SigExecName, fmt.Sprintf("%x", s.ChildMask), fmt.Sprintf("%x", s.ChildIgnore), s.ExecFailure}, s.Argv...)
	return spec
}

func (s *Single) loop() int {
	for {
		select {
		case sig := <-s.sigs:
			s.onSignal(sig.(unix.Signal))
		case <-s.reaper.Ready():
			for _, e := range s.reaper.Take() {
				main := e.Proc != nil && e.Proc == s.child
				if s.Log.Reaped != nil {
					s.Log.Reaped(s, e.Pid, e.Status, main)
				}
				if main {
					return s.childGone(e)
				}
			}
		}
	}
}

func (s *Single) onSignal(sig unix.Signal) {
	if s.Log.Received != nil {
		s.Log.Received(s, sig)
	}
	if s.SkipOnce[sig] {
		delete(s.SkipOnce, sig)
		if s.Log.Forwarded != nil {
			s.Log.Forwarded(s, sig, -1, nil)
		}
		return
	}
	if s.Drop[sig] {
		return
	}
	s.forwardChild(sig)
	if s.StopSelf[sig] {
		if s.Log.StoppingSelf != nil {
			s.Log.StoppingSelf(s, sig)
		}
		_ = unix.Kill(os.Getpid(), unix.SIGSTOP)
	}
}

// forwardChild sends sig, rewritten, to the child (its group with Group)
// through the reaper, which refuses a child it has already reaped: its pid
// may belong to someone else by then.
func (s *Single) forwardChild(sig unix.Signal) {
	s.send(sig, func(to unix.Signal) error { return s.reaper.Signal(s.child, to, s.Group) })
}

// forward sends sig, rewritten, to pid (its group with Group): for the
// signal to the group the child left (a process group's id is not reused
// while the group has members).
func (s *Single) forward(sig unix.Signal, pid int) {
	s.send(sig, func(to unix.Signal) error {
		if s.Group {
			return unix.Kill(-pid, to)
		}
		return unix.Kill(pid, to)
	})
}

// send rewrites sig (--rewrite; 0: dropped), sends it with do and logs it.
func (s *Single) send(sig unix.Signal, do func(unix.Signal) error) {
	to := sig
	if r, ok := s.Rewrite[sig]; ok {
		to = r
	}
	var err error
	if to != 0 {
		err = do(to)
	}
	if s.Log.Forwarded != nil {
		s.Log.Forwarded(s, sig, to, err)
	}
}

// childGone: the child has exited; what it left gets ExitSignal, and the
// init exits with the child's code (128+N for signal N), remapped by -e.
func (s *Single) childGone(e reaper.Exit) int {
	code := reaper.StatusCode(e.Status) % 256
	if s.ZeroCodes[code] {
		code = 0
	}
	if s.ExitSignal != 0 {
		s.forward(s.ExitSignal, e.Pid)
	}
	if s.Log.Exiting != nil {
		s.Log.Exiting(s, code)
	}
	return code
}

// goChildMask is the signal mask Go's fork gives a child: the mask svinit
// started with (the runtime's initSigmask).
func goChildMask() uint64 { return startMask }

// startMask and startIgnored are the signal state svinit inherited, as the
// Go runtime recorded it before changing it (the release build); a plain
// build falls back on /proc/self/status, where the runtime has already
// unblocked the signals it must receive.
var startMask, startIgnored = signalsAtStart()

func signalsAtStart() (uint64, uint64) {
	blocked, ignored := inheritedSignals() // TSTP, TTIN, TTOU: the runtime leaves them as they were until Notify
	if mask, ign, known := chain.SignalsAtStart(); known {
		return mask, ign | ignored
	}
	return blocked, ignored
}

// execFailure reports a program that could not be executed the way the
// program svinit stands in for does, and returns its exit code: tini's
// child prints "[FATAL tini (PID)] exec X failed: ERR" and exits 127 (not
// found), 126 (not permitted) or 1; dumb-init's prints "[dumb-init] X: ERR"
// and exits 2.
func execFailure(style string, pid int, prog string, err error, w io.Writer) int {
	errno := startErrno(err)
	msg := strerror(errno)
	if style == "dumb-init" {
		fmt.Fprintf(w, "[dumb-init] %s: %s\n", prog, msg)
		return 2
	}
	fmt.Fprintf(w, "[FATAL tini (%d)] exec %s failed: %s\n", pid, prog, msg)
	switch errno {
	case unix.ENOENT:
		return 127
	case unix.EACCES:
		return 126
	}
	return 1
}

func startErrno(err error) unix.Errno {
	var errno unix.Errno
	switch {
	case errors.As(err, &errno):
		return errno
	case errors.Is(err, exec.ErrNotFound):
		return unix.ENOENT
	}
	return unix.EINVAL
}

// strerror is glibc's text for errno: Go's, with a capital.
func strerror(errno unix.Errno) string {
	return capitalize(errno.Error())
}

// strsignal is glibc's text for a signal: Go's with a capital, "Real-time
// signal N" above SIGRTMIN.
func strsignal(sig unix.Signal) string {
	switch {
	case sig >= 34 && sig <= 64:
		return fmt.Sprintf("Real-time signal %d", int(sig)-34)
	case sig >= 32:
		return fmt.Sprintf("Unknown signal %d", int(sig))
	}
	return capitalize(sig.String())
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

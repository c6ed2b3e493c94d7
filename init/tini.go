package pid1

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unsafe"

	"github.com/svinit/svinit/internal/getopt"

	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// svinit as tini (argv[0] tini, or docker-init: what docker run --init
// starts) is tini 0.19.0 as far as a script can tell: tini's flags with
// tini's meaning, read by glibc's rules (options after PROGRAM are tini's
// unless "--" comes first), its messages, exit codes and environment.
//
//	-s            register as a child subreaper (also TINI_SUBREAPER, any value)
//	-g            signals go to the child's process group (also TINI_KILL_PROCESS_GROUP)
//	-e CODE       the child's exit code CODE becomes 0 (repeatable)
//	-p SIG        SIG when tini's parent dies, e.g. -p SIGKILL
//	-v            more output: -v info, -vv debug, -vvv trace (TINI_VERBOSITY=N)
//	-w            warn about every zombie reaped
//	-l            the licence notice; -h the usage; --version alone the version
//
// Unlike svinit's own -s DIR (a service directory), tini's -s takes no
// value: "svinit -s /service" and "tini -s prog" mean different things.
// svinit as tini runs no service tree, no HTTP, no shutdown sequence: the
// child's exit ends it at once, with the child's code (128+N for signal N),
// and signals, TERM and INT included, are passed on and nothing else.
//
// Where it cannot be tini: SIGURG and 32-34 are not passed on (the Go
// runtime's own signals; see singleReceives); -l prints a
// notice about tini's licence (and says it is svinit), not tini's licence
// text.

// TiniVersion is what svinit as tini says it is.
const TiniVersion = "tini version 0.19.0"

// TiniUsage is tini's usage text for the name it was called by.
func TiniUsage(name string) string {
	return fmt.Sprintf(`%[1]s (%[2]s)
Usage: %[1]s [OPTIONS] PROGRAM -- [ARGS] | --version

Execute a program under the supervision of a valid init process (%[1]s)

Command line options:

  --version: Show version and exit.
  -h: Show this help message and exit.
  -s: Register as a process subreaper (requires Linux >= 3.4).
  -p SIGNAL: Trigger SIGNAL when parent dies, e.g. "-p SIGKILL".
  -v: Generate more verbose output. Repeat up to 3 times.
  -w: Print a warning when processes are getting reaped.
  -g: Send signals to the child's process group.
  -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0.
  -l: Show license and exit.

Environment variables:

  TINI_SUBREAPER: Register as a process subreaper (requires Linux >= 3.4).
  TINI_VERBOSITY: Set the verbosity level (default: 1).
  TINI_KILL_PROCESS_GROUP: Send signals to the child's process group.

`, name, TiniVersion)
}

// TiniLicense is what -l prints.
const TiniLicense = `svinit, standing in for tini. tini is Copyright (c) 2015 Thomas Orozco,
under the MIT License (https://github.com/krallin/tini/blob/master/LICENSE).
None of tini's code is in svinit; svinit's own licence is in its repository.
`

// tiniSignals are tini's -p names.
var tiniSignals = map[string]unix.Signal{
	"SIGHUP": unix.SIGHUP, "SIGINT": unix.SIGINT, "SIGQUIT": unix.SIGQUIT, "SIGILL": unix.SIGILL,
	"SIGTRAP": unix.SIGTRAP, "SIGABRT": unix.SIGABRT, "SIGBUS": unix.SIGBUS, "SIGFPE": unix.SIGFPE,
	"SIGKILL": unix.SIGKILL, "SIGUSR1": unix.SIGUSR1, "SIGSEGV": unix.SIGSEGV, "SIGUSR2": unix.SIGUSR2,
	"SIGPIPE": unix.SIGPIPE, "SIGALRM": unix.SIGALRM, "SIGTERM": unix.SIGTERM, "SIGCHLD": unix.SIGCHLD,
	"SIGCONT": unix.SIGCONT, "SIGSTOP": unix.SIGSTOP, "SIGTSTP": unix.SIGTSTP, "SIGTTIN": unix.SIGTTIN,
	"SIGTTOU": unix.SIGTTOU, "SIGURG": unix.SIGURG, "SIGXCPU": unix.SIGXCPU, "SIGXFSZ": unix.SIGXFSZ,
	"SIGVTALRM": unix.SIGVTALRM, "SIGPROF": unix.SIGPROF, "SIGWINCH": unix.SIGWINCH, "SIGSYS": unix.SIGSYS,
}

// TiniConfig is what tini was asked to do.
type TiniConfig struct {
	Argv      []string
	Subreaper bool
	Group     bool
	ZeroCodes map[int]bool
	PDeathSig unix.Signal
	Verbosity int
	WarnReap  bool
}

// ErrDone is returned by the argument parsers when the program has already
// said all it had to (usage, version, licence, a bad flag): exit with the
// code returned alongside.
var ErrDone = errors.New("done")

// ParseTini reads tini's arguments (args[0] is the name it was called by)
// and environment, printing what tini prints; with ErrDone, exit with code.
func ParseTini(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) (cfg TiniConfig, code int, err error) {
	name := args[0]
	base := name
	for i := len(base) - 1; i >= 0; i-- {
		if base[i] == '/' {
			base = base[i+1:]
			break
		}
	}
	if len(args) == 2 && args[1] == "--version" {
		fmt.Fprintln(stdout, TiniVersion)
		return cfg, 0, ErrDone
	}
	cfg = TiniConfig{ZeroCodes: map[int]bool{}, Verbosity: 1}
	_, posix := lookup("POSIXLY_CORRECT")
	g := getopt.Parser{Prog: name, Short: "p:hvwgle:s", StopAtOperand: posix}
	opts, argv := g.Parse(args[1:])
	for _, o := range opts {
		switch o.Letter {
		case 'h':
			fmt.Fprint(stdout, TiniUsage(base))
			return cfg, 0, ErrDone
		case 's':
			cfg.Subreaper = true
		case 'p':
			sig, ok := tiniSignals[o.Val]
			if !ok {
				fmt.Fprintf(stderr, "[FATAL tini (%d)] Not a valid option for -p: %s\n", os.Getpid(), o.Val)
				return cfg, 1, ErrDone
			}
			cfg.PDeathSig = sig
		case 'v':
			cfg.Verbosity++
		case 'w':
			cfg.WarnReap = true
		case 'g':
			cfg.Group = true
		case 'e':
			n, err := strconv.ParseInt(o.Val, 10, 64)
			if err != nil || n < 0 || n > 255 {
				fmt.Fprintf(stderr, "[FATAL tini (%d)] Not a valid option for -e: %s\n", os.Getpid(), o.Val)
				return cfg, 1, ErrDone
			}
			cfg.ZeroCodes[int(n)] = true
		case 'l':
			fmt.Fprint(stdout, TiniLicense)
			return cfg, 0, ErrDone
		case '?':
			fmt.Fprint(stderr, o.Val)
			fmt.Fprint(stderr, TiniUsage(base))
			return cfg, 1, ErrDone
		}
	}
	if len(argv) == 0 {
		fmt.Fprint(stderr, TiniUsage(base))
		return cfg, 1, ErrDone
	}
	cfg.Argv = argv
	if _, ok := lookup("TINI_SUBREAPER"); ok {
		cfg.Subreaper = true
	}
	if _, ok := lookup("TINI_KILL_PROCESS_GROUP"); ok {
		cfg.Group = true
	}
	if v, ok := lookup("TINI_VERBOSITY"); ok {
		cfg.Verbosity = atoi(v)
	}
	return cfg, 0, nil
}

// atoi is C's: leading blanks and a sign, digits up to the first other
// character, 0 for none.
func atoi(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// tiniReaperWarning is what tini says when orphans will not come back to it.
const tiniReaperWarning = `Tini is not running as PID 1 and isn't registered as a child subreaper.
Zombie processes will not be re-parented to Tini, so zombie reaping won't work.
To fix the problem, use the -s option or set the environment variable TINI_SUBREAPER to register Tini as a child subreaper, or run Tini as PID 1.`

// NewTini is the init tini would be for cfg: its start-up steps in tini's
// order, and its way of passing signals on.
func NewTini(cfg TiniConfig, stdout, stderr io.Writer) *Single {
	s := &Single{
		Argv:        cfg.Argv,
		Spec:        reaperSpecTini(),
		ChildMask:   startMask,
		ChildIgnore: startIgnored,
		ExecFailure: "tini",
		Group:       cfg.Group,
		// tini neither waits for nor forwards these: the faults take their
		// default action (nothing, as PID 1), TTIN and TTOU are ignored.
		Drop: map[unix.Signal]bool{unix.SIGFPE: true, unix.SIGILL: true, unix.SIGSEGV: true, unix.SIGBUS: true,
			unix.SIGABRT: true, unix.SIGTRAP: true, unix.SIGSYS: true, unix.SIGTTIN: true, unix.SIGTTOU: true},
		ZeroCodes: cfg.ZeroCodes,
		Orphans:   cfg.WarnReap || cfg.Verbosity > 2,
		Stdout:    stdout,
		Stderr:    stderr,
	}
	l := tiniLog{v: cfg.Verbosity, out: stdout, err: stderr}
	s.Log = SingleLog{
		Spawned: func(s *Single, pid int) { l.info("Spawned child process '%s' with pid '%d'", s.Argv[0], pid) },
		Received: func(s *Single, sig unix.Signal) {
			if !s.Drop[sig] {
				l.debug("Passing signal: '%s'", strsignal(sig))
			}
		},
		Forwarded: func(s *Single, from, to unix.Signal, err error) {
			if errors.Is(err, unix.ESRCH) {
				l.warn("Child was dead when forwarding signal")
			}
		},
		Reaped: func(s *Single, pid int, ws unix.WaitStatus, main bool) {
			l.debug("Received SIGCHLD")
			l.debug("Reaped child with pid: '%d'", pid)
			switch {
			case main && ws.Signaled():
				l.info("Main child exited with signal (with signal '%s')", strsignal(ws.Signal()))
			case main:
				l.info("Main child exited normally (with status '%d')", ws.ExitStatus())
			case cfg.WarnReap:
				l.warn("Reaped zombie process with pid=%d", pid)
			}
		},
		Exiting: func(s *Single, code int) { l.trace("Exiting: child has exited") },
	}
	s.Steps = []Step{
		{"gomaxprocs", oneProc},
		{"signals", func() (int, error) { s.notifySingle(); return 0, nil }},
		{"pdeathsig", func() (int, error) { return tiniPDeathSig(cfg.PDeathSig, l) }},
		{"subreaper", func() (int, error) { return tiniSubreaper(cfg.Subreaper, l) }},
		{"reaper-check", func() (int, error) { tiniReaperCheck(l); return 0, nil }},
		{"reaper", func() (int, error) { s.startReaper(); return 0, nil }},
		{"spawn", s.spawn},
	}
	return s
}

// reaperSpecTini: tini's child is in a process group of its own, the
// terminal's foreground one when stdin is a terminal.
func reaperSpecTini() reaper.Spec {
	return reaper.Spec{Pgid: true, Foreground: stdinIsCtty()}
}

// tiniPDeathSig asks for sig when svinit's parent dies (prctl
// PR_SET_PDEATHSIG: the kernel sends it when the thread that forked svinit
// ends; svinit then passes it on to the child like any other).
func tiniPDeathSig(sig unix.Signal, l tiniLog) (int, error) {
	if sig == 0 {
		return 0, nil
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(sig), 0, 0, 0); err != nil {
		return 1, l.fatalErr("Failed to set up parent death signal")
	}
	return 0, nil
}

// tiniSubreaper registers as a child subreaper with -s or TINI_SUBREAPER.
func tiniSubreaper(want bool, l tiniLog) (int, error) {
	if !want {
		return 0, nil
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return 1, l.fatalErr("PR_SET_CHILD_SUBREAPER is unavailable on this platform. Are you using Linux >= 3.4?")
		}
		return 1, l.fatalErr("Failed to register as child subreaper: %s", strerror(startErrno(err)))
	}
	l.trace("Registered as child subreaper")
	return 0, nil
}

// tiniReaperCheck warns when orphans will not come back: not PID 1 and not
// a subreaper.
func tiniReaperCheck(l tiniLog) {
	if os.Getpid() == 1 {
		return
	}
	if isSubreaper() {
		return
	}
	l.warn("%s", tiniReaperWarning)
}

// oneProc: one P, as for svinit (see setGOMAXPROCS).
func oneProc() (int, error) { setGOMAXPROCS(); return 0, nil }

// tiniLog prints tini's way: FATAL and WARN on stderr, INFO, DEBUG and
// TRACE on stdout, each above its verbosity.
type tiniLog struct {
	v        int
	out, err io.Writer
}

func (l tiniLog) print(w io.Writer, min int, tag, format string, a ...any) {
	if l.v > min {
		fmt.Fprintf(w, "[%s tini (%d)] %s\n", tag, os.Getpid(), fmt.Sprintf(format, a...))
	}
}
func (l tiniLog) warn(f string, a ...any)  { l.print(l.err, 0, "WARN ", f, a...) }
func (l tiniLog) info(f string, a ...any)  { l.print(l.out, 1, "INFO ", f, a...) }
func (l tiniLog) debug(f string, a ...any) { l.print(l.out, 2, "DEBUG", f, a...) }
func (l tiniLog) trace(f string, a ...any) { l.print(l.out, 3, "TRACE", f, a...) }

// fatalErr is a FATAL line, returned as the error that ends the start-up.
func (l tiniLog) fatalErr(f string, a ...any) error {
	return fmt.Errorf("[FATAL tini (%d)] %s", os.Getpid(), fmt.Sprintf(f, a...))
}

// isSubreaper reads PR_GET_CHILD_SUBREAPER.
func isSubreaper() bool {
	var v int32
	_, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0, 0)
	return e == 0 && v == 1
}

package pid1

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/svinit/svinit/internal/getopt"

	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// svinit as dumb-init (argv[0] dumb-init) is dumb-init 1.2.5 as far as a
// script can tell:
//
//	-r, --rewrite s:r    send signal r on when s comes (0: do not pass s on); repeatable
//	-c, --single-child   the child alone gets the signals, in svinit's session
//	-v, --verbose        debug lines on stderr (also DUMB_INIT_DEBUG=1)
//	-V, --version        the version, on stderr
//	-h, --help           the usage, on stderr
//
// By default (DUMB_INIT_SETSID=0 is -c) the child runs in a session of its
// own, which takes the terminal when svinit had it as a session leader, and
// every signal goes to the child's whole process group; TSTP, TTIN and TTOU
// become STOP for the group, and svinit stops itself after passing any of
// them on (so a shell's ^Z works through it). svinit's own working
// directory becomes / once the child has started. When the child exits,
// its group gets TERM (rewritten like any other) and svinit exits at once
// with the child's code, 128+N for signal N; a program that cannot be
// executed is exit code 2. svinit as dumb-init is never a subreaper.
//
// Where it cannot be dumb-init: SIGURG and 32-34 are not passed on (the
// Go runtime's own signals; see singleReceives); the tty hand-off only takes the terminal when
// svinit was its session leader (dumb-init's child also tries when it was
// not, and the kernel refuses it: the same result).

// DumbInitVersion is the first line of -V and -h.
const DumbInitVersion = "dumb-init v1.2.5\n"

// DumbInitHelp is dumb-init's help for the name it was called by.
func DumbInitHelp(name string) string {
	return DumbInitVersion + `Usage: ` + name + ` [option] command [[arg] ...]

dumb-init is a simple process supervisor that forwards signals to children.
It is designed to run as PID1 in minimal container environments.

Optional arguments:
   -c, --single-child   Run in single-child mode.
                        In this mode, signals are only proxied to the
                        direct child and not any of its descendants.
   -r, --rewrite s:r    Rewrite received signal s to new signal r before proxying.
                        To ignore (not proxy) a signal, rewrite it to 0.
                        This option can be specified multiple times.
   -v, --verbose        Print debugging information to stderr.
   -h, --help           Print this help message and exit.
   -V, --version        Print the current version and exit.

Full help is available online at https://github.com/Yelp/dumb-init
`
}

const dumbInitRewriteHelp = `Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and 31.
This option can be specified multiple times.
Use --help for full usage.
`

// DumbInitConfig is what dumb-init was asked to do.
type DumbInitConfig struct {
	Argv    []string
	Setsid  bool
	Debug   bool
	Rewrite map[unix.Signal]unix.Signal
}

// ParseDumbInit reads dumb-init's arguments (args[0] is the name it was
// called by) and environment, printing what dumb-init prints; with ErrDone,
// exit with code.
func ParseDumbInit(args []string, getenv func(string) string, stderr io.Writer) (cfg DumbInitConfig, code int, err error) {
	name := args[0]
	cfg = DumbInitConfig{Setsid: true, Rewrite: map[unix.Signal]unix.Signal{}}
	g := getopt.Parser{Prog: name, Short: "hvVcr:", StopAtOperand: true,
		Long:    map[string]rune{"help": 'h', "single-child": 'c', "rewrite": 'r', "verbose": 'v', "version": 'V'},
		LongArg: map[string]bool{"rewrite": true}}
	opts, argv := g.Parse(args[1:])
	for _, o := range opts {
		switch o.Letter {
		case 'h':
			fmt.Fprint(stderr, DumbInitHelp(name))
			return cfg, 0, ErrDone
		case 'v':
			cfg.Debug = true
		case 'V':
			fmt.Fprint(stderr, DumbInitVersion)
			return cfg, 0, ErrDone
		case 'c':
			cfg.Setsid = false
		case 'r':
			s, r, ok := parseRewrite(o.Val)
			if !ok {
				fmt.Fprint(stderr, dumbInitRewriteHelp)
				return cfg, 1, ErrDone
			}
			cfg.Rewrite[s] = r
		case '?':
			fmt.Fprint(stderr, o.Val)
			return cfg, 1, ErrDone
		}
	}
	if len(argv) == 0 {
		fmt.Fprintf(stderr, "Usage: %s [option] program [args]\nTry %s --help for full usage.\n", name, name)
		return cfg, 1, ErrDone
	}
	cfg.Argv = argv
	if getenv("DUMB_INIT_DEBUG") == "1" {
		cfg.Debug = true
		fmt.Fprint(stderr, "[dumb-init] Running in debug mode.\n")
	}
	if getenv("DUMB_INIT_SETSID") == "0" {
		cfg.Setsid = false
		if cfg.Debug {
			fmt.Fprint(stderr, "[dumb-init] Not running in setsid mode.\n")
		}
	}
	if cfg.Setsid {
		for _, sig := range []unix.Signal{unix.SIGTSTP, unix.SIGTTOU, unix.SIGTTIN} {
			if _, ok := cfg.Rewrite[sig]; !ok {
				cfg.Rewrite[sig] = unix.SIGSTOP
			}
		}
	}
	return cfg, 0, nil
}

// parseRewrite reads s:r as sscanf("%d:%d") does (blanks before each
// number, a sign, anything after r ignored): s in 1-31, r in 0-31.
func parseRewrite(v string) (unix.Signal, unix.Signal, bool) {
	s, rest, ok := scanInt(v)
	if !ok || !strings.HasPrefix(rest, ":") {
		return 0, 0, false
	}
	r, _, ok := scanInt(rest[1:])
	if !ok || s < 1 || s > 31 || r < 0 || r > 31 {
		return 0, 0, false
	}
	return unix.Signal(s), unix.Signal(r), true
}

func scanInt(v string) (int, string, bool) {
	v = strings.TrimLeft(v, " \t\n\v\f\r")
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	j := i
	for j < len(v) && v[j] >= '0' && v[j] <= '9' {
		j++
	}
	if j == i || j-i > 9 {
		return 0, v, false
	}
	return atoi(v[:j]), v[j:], true
}

// NewDumbInit is the init dumb-init would be for cfg.
func NewDumbInit(cfg DumbInitConfig, stderr io.Writer) *Single {
	s := &Single{
		Argv: cfg.Argv,
		Spec: reaper.Spec{Setsid: cfg.Setsid},
		// dumb-init's child unblocks everything; the handlers it set for 1-31
		// are reset by exec; what it inherited ignored above 31 stays so.
		ChildMask:   0,
		ChildIgnore: startIgnored &^ (1<<31 - 1),
		ExecFailure: "dumb-init",
		Group:       cfg.Setsid,
		Rewrite:     cfg.Rewrite,
		StopSelf:    map[unix.Signal]bool{unix.SIGTSTP: true, unix.SIGTTOU: true, unix.SIGTTIN: true},
		SkipOnce:    map[unix.Signal]bool{},
		ExitSignal:  unix.SIGTERM,
		Orphans:     cfg.Debug,
		Stdout:      stderr,
		Stderr:      stderr,
	}
	debug := func(f string, a ...any) {
		if cfg.Debug {
			fmt.Fprintf(stderr, "[dumb-init] "+f, a...)
		}
	}
	s.Log = SingleLog{
		Spawned: func(s *Single, pid int) {
			// What dumb-init's child says between fork and exec; printed
			// before the parent's line, as it mostly comes in dumb-init
			// (its own tests accept it before or after, not in between).
			if cfg.Setsid {
				if !s.Spec.Ctty {
					errno := unix.ENOTTY
					if _, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil {
						errno = unix.EPERM
					}
					debug("Unable to attach to controlling tty (errno=%d %s).\n", int(errno), strerror(errno))
				}
				debug("setsid complete.\n")
			}
			debug("Child spawned with PID %d.\n", pid)
		},
		Received: func(s *Single, sig unix.Signal) { debug("Received signal %d.\n", int(sig)) },
		Forwarded: func(s *Single, from, to unix.Signal, err error) {
			switch {
			case to == -1:
				debug("Ignoring tty hand-off signal %d.\n", int(from))
				return
			case from != to || hasKey(s.Rewrite, from):
				debug("Translating signal %d to %d.\n", int(from), int(to))
			}
			if to == 0 {
				debug("Not forwarding signal %d to children (ignored).\n", int(to)) // dumb-init's words: the rewritten number
			} else {
				debug("Forwarded signal %d to children.\n", int(to))
			}
		},
		Reaped: func(s *Single, pid int, ws unix.WaitStatus, main bool) {
			debug("Received signal %d.\n", int(unix.SIGCHLD))
			if ws.Signaled() {
				debug("A child with PID %d was terminated by signal %d.\n", pid, int(ws.Signal()))
			} else {
				debug("A child with PID %d exited with exit status %d.\n", pid, ws.ExitStatus())
			}
		},
		Exiting:      func(s *Single, code int) { debug("Child exited with status %d. Goodbye.\n", code) },
		StoppingSelf: func(s *Single, sig unix.Signal) { debug("Suspending self due to TTY signal.\n") },
	}
	s.Steps = []Step{
		{"gomaxprocs", oneProc},
		{"signals", func() (int, error) { s.notifySingle(); return 0, nil }},
		{"detach-tty", func() (int, error) { dumbInitDetach(s, cfg.Setsid, debug); return 0, nil }},
		{"reaper", func() (int, error) { s.startReaper(); return 0, nil }},
		{"chdir", func() (int, error) { dumbInitChdir(s, debug); return 0, nil }},
		{"spawn", s.spawn},
	}
	return s
}

func hasKey(m map[unix.Signal]unix.Signal, k unix.Signal) bool {
	_, ok := m[k]
	return ok
}

// dumbInitDetach gives up the controlling terminal so that the child's new
// session can take it; as the session leader, the kernel then sends HUP and
// CONT to svinit's group, which are not passed on.
func dumbInitDetach(s *Single, setsid bool, debug func(string, ...any)) {
	if !setsid {
		return
	}
	if err := unix.IoctlSetInt(0, unix.TIOCNOTTY, 0); err != nil {
		errno := startErrno(err)
		debug("Unable to detach from controlling tty (errno=%d %s).\n", int(errno), strerror(errno))
		return
	}
	if sid, _ := unix.Getsid(0); sid == os.Getpid() {
		debug("Detached from controlling tty, ignoring the first SIGHUP and SIGCONT we receive.\n")
		s.SkipOnce[unix.SIGHUP] = true
		s.SkipOnce[unix.SIGCONT] = true
		s.Spec.Ctty = true
		return
	}
	debug("Detached from controlling tty, but was not session leader.\n")
}

// dumbInitChdir: dumb-init's own working directory is /, its child's the
// one it was started in. dumb-init changes directory after the fork, so a
// child that looks at once may still see the old one; svinit changes first
// and starts the child in the old directory, so it never can.
func dumbInitChdir(s *Single, debug func(string, ...any)) {
	if wd, err := os.Getwd(); err == nil {
		s.Spec.Dir = wd
	}
	if err := os.Chdir("/"); err != nil {
		errno := startErrno(err)
		debug("Unable to chdir(\"/\") (errno=%d %s)\n", int(errno), strerror(errno))
	}
}

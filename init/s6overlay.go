package pid1

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/internal/multilog"
	"github.com/svinit/svinit/internal/s6overlay"
	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

// s6State is svinit as s6-overlay v3's /init: where the container's exit
// code file is, and the catch-all logger of S6_LOGGING. Its methods do
// nothing on a nil *s6State.
type s6State struct {
	exitFile string
	logging  int           // S6_LOGGING: 1 the CMD keeps stdout and stderr, 2 everything is logged
	out, err *os.File      // svinit's stdout and stderr as they were, while the logger has fds 1 and 2
	logDone  chan struct{} // closed when the logger has written the last line
}

// stepS6Overlay, with --s6-overlay (or argv[0] /init): reads the S6_*
// knobs (a warning for each one svinit does not honour), builds
// /run/service from the image's s6-overlay layout (internal/s6overlay),
// maps the knobs onto svinit's options, saves the container's environment
// and, unless S6_KEEP_ENV, leaves the services and the CMD only PATH, as
// s6-overlay does. A file of the layout that cannot be used is a warning
// naming it; the rest runs. No child has started yet.
func (in *initProc) stepS6Overlay() {
	if !in.cfg.S6Overlay {
		return
	}
	environ := os.Environ()
	knobs, warns := s6overlay.ReadKnobs(environ)
	for _, w := range warns {
		svlog.Warn("s6-overlay: %s", w)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	l := s6overlay.Layout{Root: "/", Exe: exe, Knobs: knobs, Environ: environ}
	res, err := l.Build()
	if err != nil {
		svlog.Fatal("s6-overlay: %v: no services run", err)
		in.term.failed("s6-overlay: %v", err)
		in.cfg.ServiceDir = ""
		return
	}
	for _, p := range res.Problems {
		svlog.Warn("s6-overlay: %v", p)
	}
	if knobs.Verbosity >= 3 {
		in.cfg.Trace = true
		svlog.SetTrace(true)
	}
	svlog.Trace("s6-overlay: %d service directories in %s: %s", len(res.Services), res.ServiceDir, strings.Join(res.Services, " "))
	in.s6 = &s6State{exitFile: s6overlay.ExitCodeFile}
	if knobs.Logging > 0 {
		if err := in.s6.startLogger(knobs); err != nil {
			svlog.Warn("s6-overlay: S6_LOGGING=%d: %v: everything goes to stdout and stderr", knobs.Logging, err)
		}
	}
	in.cfg.ServiceDir = res.ServiceDir
	in.cfg.Protocol = "s6"
	if !in.cfg.GraceSet {
		in.cfg.Grace = knobs.Grace(res.FinishScripts)
	}
	in.cfg.ReadyWait = knobs.WaitMax
	if knobs.WaitMax == 0 {
		in.cfg.ReadyWait = maxSeconds * time.Second
	}
	in.cfg.ReadyProceed = knobs.Behaviour < 2
	if len(knobs.CmdArg0) > 0 && len(in.cfg.Argv) > 0 {
		in.cfg.Argv = append(append([]string(nil), knobs.CmdArg0...), in.cfg.Argv...)
	}
	if !knobs.KeepEnv {
		os.Clearenv()
		for _, kv := range s6overlay.MinimalEnv(environ) {
			k, v, _ := strings.Cut(kv, "=")
			_ = os.Setenv(k, v)
		}
	}
}

// mainExited writes the CMD's exit code where s6-overlay's rc.init does;
// a finish script may overwrite it before the end.
func (s *s6State) mainExited(code int) {
	if s == nil {
		return
	}
	if err := os.WriteFile(s.exitFile, []byte(strconv.Itoa(code)+"\n"), 0o644); err != nil {
		svlog.Warn("s6-overlay: %v", errstr.Unable("write", s.exitFile, err))
	}
}

// exitCode is the container's exit code: what the exit-code file says at
// the end, if it says a number; else svinit's own code.
func (s *s6State) exitCode(code int) int {
	if s == nil {
		return code
	}
	b, err := os.ReadFile(s.exitFile)
	if errors.Is(err, os.ErrNotExist) {
		return code
	}
	if err != nil {
		svlog.Warn("s6-overlay: %v: exit code %d", errstr.Unable("read", s.exitFile, err), code)
		return code
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 {
		svlog.Warn("s6-overlay: %s: not an exit code: %q: exit code %d", s.exitFile, strings.TrimSpace(string(b)), code)
		return code
	}
	return n & 0xff
}

// startLogger is S6_LOGGING 1 or 2: svinit's fds 1 and 2 become a pipe to
// a multilog with S6_LOGGING_SCRIPT's directives writing the catch-all
// directory (/run/uncaught-logs), so svinit's own lines, the services' and
// (with 2) the CMD's are logged there and nothing reaches stdout; with 1
// the CMD keeps svinit's original stdout and stderr (mainFiles). The
// logger runs in PID 1 until stopLogger.
func (s *s6State) startLogger(k s6overlay.Knobs) error {
	script, err := s6overlay.CatchallScript(k.LoggingScript, s6overlay.CatchallDir)
	if err != nil {
		return err
	}
	ml, err := multilog.Parse(script)
	if err != nil {
		return fmt.Errorf("S6_LOGGING_SCRIPT=%q: %v", k.LoggingScript, err)
	}
	if err := os.MkdirAll(s6overlay.CatchallDir, 0o755); err != nil {
		return errstr.Unable("create", s6overlay.CatchallDir, err)
	}
	out, err := unix.FcntlInt(1, unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return errstr.Unable("duplicate", "stdout", err)
	}
	errFd, err := unix.FcntlInt(2, unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		unix.Close(out)
		return errstr.Unable("duplicate", "stderr", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		unix.Close(out)
		unix.Close(errFd)
		return errstr.Unable("make", "the catch-all logger's pipe", err)
	}
	s.logging, s.out, s.err = k.Logging, os.NewFile(uintptr(out), "stdout"), os.NewFile(uintptr(errFd), "stderr")
	s.logDone = make(chan struct{})
	go func() {
		defer close(s.logDone)
		if err := ml.Run(r, s.err, nil); err != nil {
			fmt.Fprintf(s.err, "svinit: warning: s6-overlay: catch-all logger: %v: what is left goes to stderr\n", err)
			_, _ = io.Copy(s.err, r) // never a broken pipe on svinit's fds 1 and 2
		}
		r.Close()
	}()
	_ = unix.Dup2(int(w.Fd()), 1)
	_ = unix.Dup2(int(w.Fd()), 2)
	w.Close()
	return nil
}

// mainFiles are the CMD's fds 0, 1, 2: with S6_LOGGING=1 svinit's
// original stdout and stderr (s6-overlay: "anything run as a CMD is still
// output to stdout/stderr"); else nil, svinit's own.
func (s *s6State) mainFiles() []uintptr {
	if s == nil || s.logging != 1 || s.out == nil {
		return nil
	}
	return []uintptr{0, s.out.Fd(), s.err.Fd()}
}

// stopLogger, at the very end (every process is gone): svinit's stdout and
// stderr are its own again, and the logger writes what is left and ends.
func (s *s6State) stopLogger() {
	if s == nil || s.logDone == nil {
		return
	}
	_ = unix.Dup2(int(s.out.Fd()), 1)
	_ = unix.Dup2(int(s.err.Fd()), 2)
	select {
	case <-s.logDone:
	case <-time.After(2 * time.Second):
		fmt.Fprintf(os.Stderr, "svinit: warning: s6-overlay: the catch-all logger did not end within 2s (a process still holds its pipe?)\n")
	}
}

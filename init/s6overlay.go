package pid1

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/internal/s6overlay"
	"github.com/svinit/svinit/internal/svlog"
)

// s6State is svinit as s6-overlay v3's /init: where the container's exit
// code file is. Its methods do nothing on a nil *s6State.
type s6State struct {
	exitFile string
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

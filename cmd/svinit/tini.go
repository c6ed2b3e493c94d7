package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/moby/sys/reexec"
	pid1 "github.com/svinit/svinit/init"
)

// runTini is svinit as tini (argv[0] tini, or docker-init, the name docker
// run --init starts it by): tini's flags, messages and behaviour; see
// init/tini.go. Its -s is tini's (subreaper), not svinit's -s DIR.
func runTini(args []string) int {
	cfg, code, err := pid1.ParseTini(append([]string{argv0("tini")}, args...), os.LookupEnv, os.Stdout, os.Stderr)
	if errors.Is(err, pid1.ErrDone) {
		return code
	}
	return pid1.NewTini(cfg, os.Stdout, os.Stderr).RunSingle()
}

// argv0 is the name the applet was called by, as given (glibc's getopt
// messages use it): argv[0] when it names the applet, else the applet's
// name (svinit tini ...).
func argv0(applet string) string {
	if base := filepath.Base(os.Args[0]); applets[base] != nil && base != "svinit" {
		return os.Args[0]
	}
	return applet
}

func init() {
	// The trampoline that gives tini's or dumb-init's child the signal mask
	// and ignored signals that program would (init/sigexec.go).
	reexec.Register(pid1.SigExecName, func() { os.Exit(pid1.SigExec(os.Args[1:])) })
}

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	pid1 "github.com/svinit/svinit/init"
	"github.com/svinit/svinit/internal/s6overlay"
	"github.com/svinit/svinit/internal/svlog"
)

// runS6Init is svinit as s6-overlay v3's /init (argv[0]'s basename init;
// ENTRYPOINT ["/init"]): every argument is the CMD, as for s6-overlay's
// /init; svinit's options come from its SVINIT_* variables. See
// init/s6overlay.go and docs/migrating-s6-overlay.md. The hidden applets
// of the generated scripts come first: the scripts call svinit by its
// path, which is /init.
func runS6Init(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case s6overlay.StageApplet:
			return runS6Stage(args[1:])
		case s6overlay.HaltApplet:
			return runS6Halt(args[1:])
		}
	}
	pid1.Sanitize()
	cfg, err := pid1.ParseArgs(nil, os.Getenv)
	if err != nil {
		svlog.Fatal("%v", err)
		return 100
	}
	cfg.Argv, cfg.S6Overlay = args, true
	return pid1.Run(cfg)
}

// runS6Stage runs the cont-init or cont-finish scripts (the generated
// legacy-cont-init oneshot's run and undo).
func runS6Stage(args []string) int { return s6overlay.Stage(args, os.Stderr) }

// runS6Halt is /run/s6/basedir/bin/halt: the container stops, as with
// svscanctl -t on the live directory.
func runS6Halt(args []string) int {
	dir := s6overlay.ServiceDir
	if len(args) == 1 {
		dir = args[0]
	}
	return runSvscanctl([]string{"-t", dir})
}

// runWithContenv is s6-overlay's with-contenv PROG...: PROG with the
// container's environment saved at start (/run/s6/container_environment)
// and PATH; with S6_KEEP_ENV, the environment as it is.
func runWithContenv(args []string) int {
	const name = "with-contenv"
	if len(args) == 0 {
		return usage(name, "prog...", 100)
	}
	env, err := s6overlay.WithContenv(s6overlay.ContEnvDir, os.Environ())
	if err != nil {
		return fatal(name, "%v", err)
	}
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		_ = os.Setenv(k, v)
	}
	return run(name, args)
}

// runPrintcontenv is printcontenv NAME: the saved variable's value and a
// newline; exit 1 if it was not set.
func runPrintcontenv(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "printcontenv: fatal: too few arguments")
		return 100
	}
	v, ok := s6overlay.Printcontenv(s6overlay.ContEnvDir, os.Environ(), args[0])
	if !ok {
		return 1
	}
	if _, err := fmt.Println(v); err != nil && !errors.Is(err, os.ErrClosed) {
		return 111
	}
	return 0
}

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	pid1 "github.com/svinit/svinit/init"
	"github.com/svinit/svinit/internal/myinit"
	"github.com/svinit/svinit/internal/svlog"
)

// runMyInit is svinit as phusion's my_init (argv[0] my_init, as
// /sbin/my_init): my_init's options and variables mapped onto svinit's
// (docs/migrating-my_init.md), its start-up files run before runit's
// /etc/service is supervised and the main command started.
func runMyInit(args []string) int {
	pid1.Sanitize() // may execute svinit again: before the environment changes
	opts, err := myinit.Parse(args)
	if errors.Is(err, myinit.ErrHelp) {
		fmt.Print(myinit.Help)
		return 0
	}
	if errors.Is(err, myinit.ErrSkipRunitAlone) {
		fmt.Fprintf(os.Stderr, "*** %v\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%smy_init: error: %v\n", myinit.Usage, err)
		return 2 // argparse's code
	}
	t, err := myinit.ParseTimeouts(os.Getenv)
	if err != nil {
		svlog.Fatal("%v", err)
		return 100
	}
	layout := myinit.Layout{Root: os.Getenv(myinit.RootEnv), InitDirectory: os.Getenv("ENV_INIT_DIRECTORY")}
	os.Unsetenv(myinit.RootEnv)
	svArgs := []string{}
	graceFromEnv := os.Getenv("SVINIT_GRACE") != ""
	if g, ok := t.Grace(); ok && !graceFromEnv {
		svArgs = append(svArgs, "--grace", strconv.Itoa(g))
	}
	if !opts.SkipRunit {
		svArgs = append(svArgs, "-s", layout.ServiceDir())
	}
	cfg, err := pid1.ParseArgs(append(append(svArgs, "--"), opts.Argv...), os.Getenv)
	if err != nil {
		svlog.Fatal("%v", err)
		return 100
	}
	if opts.SkipRunit {
		cfg.ServiceDir = ""
	}
	for _, w := range opts.Warnings(t, graceFromEnv) {
		svlog.Warn("my_init: %s", w)
	}
	for _, d := range layout.Unsupported() {
		svlog.Warn("my_init: %s is not run by svinit (my_init's shutdown scripts): use a service's finish script", d)
	}
	boot := &myinit.Boot{Layout: layout, Opts: opts, Stderr: os.Stderr}
	cfg.Prelude = boot.Run
	return pid1.Run(cfg)
}

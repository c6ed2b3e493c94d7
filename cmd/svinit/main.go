// Command svinit is a multi-call binary: PID 1 and service supervisor, and the
// daemontools/runit client applets. The applet is chosen by the basename of
// argv[0] (a symlink named svc) or by argv[1] (svinit svc -h DIR).
//
// updatemaxprocs=0: no goroutine and no once-a-second cgroup read by sysmon
// to follow a changing CPU limit, at every applet's start; svinit itself
// sets GOMAXPROCS to 1 (init/steps.go), which turns that off anyway.
//
//go:debug updatemaxprocs=0
package main

import (
	"os"
	"path/filepath"

	"github.com/moby/sys/reexec"
)

// applet is one program of the multi-call binary. It gets its arguments
// without its own name and returns the exit code.
type applet func(args []string) int

func main() {
	if reexec.Init() {
		return
	}
	name, args := pick(os.Args)
	os.Exit(applets[name](args))
}

// pick chooses the applet: argv[0]'s basename if it names one, else argv[1]
// if it names one, else svinit itself.
func pick(argv []string) (string, []string) {
	if base := filepath.Base(argv[0]); base != "svinit" && applets[base] != nil {
		return base, argv[1:]
	}
	if len(argv) > 1 && applets[argv[1]] != nil && argv[1] != "svinit" {
		return argv[1], argv[2:]
	}
	return "svinit", argv[1:]
}

package main

import (
	"errors"
	"fmt"
	"os"

	pid1 "github.com/svinit/svinit/init"
	"github.com/svinit/svinit/internal/svlog"
)

// runInit is the svinit applet: PID 1 around a main command.
func runInit(args []string) int {
	if len(args) == 2 && args[0] == "--install" {
		return install(args[1])
	}
	pid1.Sanitize()
	cfg, err := pid1.ParseArgs(args, os.Getenv)
	if errors.Is(err, pid1.ErrHelp) {
		fmt.Print(pid1.Usage)
		return 0
	}
	if err != nil {
		svlog.Fatal("%v", err)
		fmt.Fprint(os.Stderr, pid1.Usage)
		return 100
	}
	return pid1.Run(cfg)
}

package main

import (
	"errors"
	"os"

	pid1 "github.com/svinit/svinit/init"
)

// runDumbInit is svinit as dumb-init (argv[0] dumb-init): dumb-init's
// flags, messages and behaviour; see init/dumbinit.go.
func runDumbInit(args []string) int {
	cfg, code, err := pid1.ParseDumbInit(append([]string{argv0("dumb-init")}, args...), os.Getenv, os.Stderr)
	if errors.Is(err, pid1.ErrDone) {
		return code
	}
	return pid1.NewDumbInit(cfg, os.Stderr).RunSingle()
}

package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/supervisor/svdir"
)

const svcUsage = "svc options: u up, d down, o once, x exit, p pause, c continue, h hup, a alarm, i interrupt, t term, k kill"

// runSvc is daemontools' svc: send control bytes to each service directory.
// It warns about a directory it cannot control and still exits 0.
func runSvc(args []string) int {
	opts, dirs, bad := getopt(args, "udopchaitkx")
	if bad != 0 {
		fmt.Fprintf(os.Stderr, "svc: illegal option -- %c\n%s\n", bad, svcUsage)
		return 100
	}
	var cmds []byte
	for _, o := range opts {
		if len(cmds) < 20 && !containsByte(cmds, o.letter) {
			cmds = append(cmds, o.letter)
		}
	}
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			fmt.Fprintf(os.Stderr, "svc: warning: unable to chdir to %s: %s\n", dir, chdirErr(err))
			continue
		}
		err := svdir.Control(dir, cmds)
		switch {
		case errors.Is(err, svdir.ErrNotRunning):
			fmt.Fprintf(os.Stderr, "svc: warning: unable to control %s: supervise not running\n", dir)
		case err != nil:
			fmt.Fprintf(os.Stderr, "svc: warning: unable to control %s: %s\n", dir, errstr.Text(err))
		}
	}
	return 0
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// chdirErr is what chdir(2) would have said.
func chdirErr(err error) string {
	if err == nil {
		return "not a directory"
	}
	return errstr.Text(err)
}

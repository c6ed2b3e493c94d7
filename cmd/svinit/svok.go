package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/supervisor/svdir"
)

// runSvok is daemontools' svok: exit 0 if a supervisor runs DIR, 100 if not,
// 111 on trouble.
func runSvok(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "svok: usage: svok dir")
		return 100
	}
	dir := args[0]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(os.Stderr, "svok: fatal: unable to chdir to %s: %s\n", dir, chdirErr(err))
		return 111
	}
	err := svdir.Alive(dir)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, svdir.ErrNotRunning), errors.Is(err, os.ErrNotExist):
		return 100
	}
	fmt.Fprintf(os.Stderr, "svok: fatal: unable to open %s/supervise/ok: %s\n", dir, errstr.Text(err))
	return 111
}

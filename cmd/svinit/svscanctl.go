package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/supervisor"
	"github.com/svinit/svinit/supervisor/svdir"
)

// runSvscanctl controls a whole service tree (s6-svscanctl's letters):
// -a rescan now, -t stop every service and exit.
func runSvscanctl(args []string) int {
	opts, rest, bad := getopt(args, "aht")
	if bad != 0 || len(rest) != 1 || len(opts) == 0 {
		fmt.Fprintln(os.Stderr, "svscanctl: usage: svscanctl [ -a ] [ -t ] dir")
		return 100
	}
	var cmds []byte
	for _, o := range opts {
		cmds = append(cmds, o.letter)
	}
	fifo := filepath.Join(rest[0], supervisor.ScanControl)
	if err := svdir.WriteFifo(fifo, cmds); err != nil {
		if errors.Is(err, svdir.ErrNotRunning) {
			fmt.Fprintf(os.Stderr, "svscanctl: fatal: unable to control %s: svinit not running\n", rest[0])
			return 100
		}
		fmt.Fprintf(os.Stderr, "svscanctl: fatal: unable to control %s: %s\n", rest[0], errstr.Text(err))
		return 111
	}
	return 0
}

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"

	"github.com/svinit/svinit/internal/multilog"

	"golang.org/x/sys/unix"
)

// runMultilog is daemontools' multilog SCRIPT: t (TAI64N stamp, first),
// T (ISO 8601 stamp, ours), +pattern, -pattern, e, =file, sSIZE, nNUM,
// and directories (./dir, /dir) with automatic rotation. ALRM rotates
// now; TERM ends at the next newline, with 0. 111 on trouble.
func runMultilog(args []string) int {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGALRM, unix.SIGTERM)
	s, err := multilog.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "multilog: usage: multilog script: %v\n", err)
		return 100
	}
	if err := s.Run(os.Stdin, os.Stderr, sigs); err != nil {
		fmt.Fprintf(os.Stderr, "multilog: fatal: %v\n", err)
		return 111
	}
	return 0
}

// runTai64nlocal turns leading TAI64N labels into local times.
func runTai64nlocal(args []string) int {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		line, err := in.ReadString('\n')
		if t, ok := multilog.ParseTAI64N(line); ok {
			line = multilog.Local(t) + line[25:]
		}
		out.WriteString(line)
		if err != nil {
			return 0
		}
	}
}

package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// runSvwait waits until services are up (-u), up and ready (-U, the
// default), or down (-d); -t MS gives up after MS milliseconds (exit 1),
// -o is satisfied by any one service instead of all. Exit 100 on usage.
func runSvwait(args []string) int {
	opts, dirs, bad := getopt(args, "uUdot:")
	if bad != 0 || len(dirs) == 0 {
		fmt.Fprintln(os.Stderr, "svwait: usage: svwait [ -u | -U | -d ] [ -o ] [ -t ms ] dir...")
		return 100
	}
	want, any, timeout := byte('U'), false, time.Duration(0)
	for _, o := range opts {
		switch o.letter {
		case 'u', 'U', 'd':
			want = o.letter
		case 'o':
			any = true
		case 't':
			ms, err := strconv.Atoi(o.value)
			if err != nil || ms < 0 {
				fmt.Fprintf(os.Stderr, "svwait: fatal: not a number of milliseconds: %q\n", o.value)
				return 100
			}
			timeout = time.Duration(ms) * time.Millisecond
		}
	}
	began := time.Now()
	for {
		n := 0
		for _, d := range dirs {
			if reached(d, want) {
				n++
			}
		}
		if n == len(dirs) || (any && n > 0) {
			return 0
		}
		if timeout > 0 && time.Since(began) >= timeout {
			fmt.Fprintf(os.Stderr, "svwait: timed out after %v\n", timeout)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func reached(dir string, want byte) bool {
	st := statusJSON(dir, time.Now())
	switch want {
	case 'u':
		return st.State == "up"
	case 'd':
		return st.Error == "" && st.Pid == 0
	}
	return st.Ready && (st.State == "up" || st.State == "done")
}

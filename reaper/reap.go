package reaper

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Reap collects every child that has ended, without blocking, and hands each to
// onExit. SIGCHLD coalesces, so one call drains until no ended child is left.
// It reports whether the caller has no children at all any more (ECHILD): as
// PID 1 or a subreaper that means the whole process tree is gone.
//
// This is the only wait4(-1) in svinit. Never call exec.Cmd.Wait beside it.
func Reap(onExit func(Exit)) (none bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			return true
		case err != nil || pid <= 0:
			return false
		}
		onExit(Exit{Pid: pid, Status: ws})
	}
}

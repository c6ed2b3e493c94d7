// Package reaper owns the life of child processes at the system-call level: it
// starts them and it is the only place in svinit that calls wait4(-1).
package reaper

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Exit is one reaped child that was started with Reaper.Start: the process,
// its pid and its raw wait status.
type Exit struct {
	Proc   *Proc
	Pid    int
	Status unix.WaitStatus
}

// Code is the shell convention for a wait status: the exit code, or 128+N when
// the process died of signal N.
func (e Exit) Code() int {
	return StatusCode(e.Status)
}

// StatusCode maps a wait status to an exit code, or 128+signal.
func StatusCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// Describe says how a process ended, in daemontools words: "exit 3" or
// "signal 9 (killed)".
func Describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return fmt.Sprintf("signal %d (%s)", int(ws.Signal()), unix.SignalName(ws.Signal()))
	}
	return fmt.Sprintf("exit %d", ws.ExitStatus())
}

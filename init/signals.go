// Package pid1 does the duties of a container's PID 1: it registers for every
// signal before any child starts, forwards signals to the main command, reaps
// every child, stops what is left of its own process tree and exits with the
// main command's code.
package pid1

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// notForwarded are the signals svinit keeps to itself: SIGCHLD (its own
// business), SIGURG (the Go runtime's preemption signal), SIGTTIN and SIGTTOU
// (job-control noise that must never stop PID 1), the synchronous faults,
// SIGPROF (the Go runtime's profiler) and real-time signals 32-34 (reserved
// by libc and by the Go runtime: a Go process cannot receive them).
var notForwarded = map[unix.Signal]bool{
	unix.SIGCHLD: true, unix.SIGURG: true, unix.SIGTTIN: true, unix.SIGTTOU: true,
	unix.SIGILL: true, unix.SIGTRAP: true, unix.SIGBUS: true, unix.SIGFPE: true,
	unix.SIGSEGV: true, unix.SIGKILL: true, unix.SIGSTOP: true,
	unix.SIGPROF: true, unix.Signal(32): true, unix.Signal(33): true, unix.Signal(34): true,
}

// Forwardable reports whether svinit passes sig on to the main command.
func Forwardable(sig unix.Signal) bool {
	return sig >= 1 && sig <= 64 && !notForwarded[sig]
}

// ForwardableSignals lists every signal svinit passes on, in number order.
func ForwardableSignals() []unix.Signal {
	var sigs []unix.Signal
	for s := unix.Signal(1); s <= 64; s++ {
		if Forwardable(s) {
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// notifyAll registers for every signal but SIGCHLD (the reaper waits for
// children without it) and SIGURG (the runtime's own, sent many times a
// second). It must run before any child starts: a Go PID 1 without a handler
// for SIGTERM ignores docker stop. Registering, never signal.Ignore (which
// children would inherit), also keeps SIGTTIN and SIGTTOU from stopping svinit.
func notifyAll() chan os.Signal {
	sigs := make(chan os.Signal, 8192)
	for s := unix.Signal(1); s <= 64; s++ {
		if s != unix.SIGCHLD && s != unix.SIGURG {
			signal.Notify(sigs, s)
		}
	}
	// With SIGCHLD at SIG_DFL the kernel drops it when a child ends, instead
	// of running the runtime's handler on some thread for nothing. SIG_DFL is
	// not SIG_IGN: children are still left for the reaper to collect.
	setDefault(int(unix.SIGCHLD))
	return sigs
}

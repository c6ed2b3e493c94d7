package pid1

import (
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

const sanitizedEnv = "SVINIT_SANITIZED"

// Sanitize makes sure every child starts with only fds 0, 1 and 2, an empty
// signal mask and default signal dispositions, whatever svinit itself
// inherited. Extra fds are marked close-on-exec. A blocked or ignored signal
// cannot be undone for the Go runtime's threads, so svinit then clears them on
// one thread and executes itself again, once, keeping its pid.
func Sanitize() {
	closeExtraFds()
	if os.Getenv(sanitizedEnv) != "" {
		os.Unsetenv(sanitizedEnv)
		return
	}
	blocked, ignored := inheritedSignals()
	if blocked == 0 && ignored == 0 {
		return
	}
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	runtime.LockOSThread()
	var empty unix.Sigset_t
	_ = unix.PthreadSigmask(unix.SIG_SETMASK, &empty, nil)
	for sig := 1; sig <= 64; sig++ {
		if ignored&(1<<(sig-1)) != 0 {
			setDefault(sig)
		}
	}
	env := append(os.Environ(), sanitizedEnv+"=1")
	err = unix.Exec(self, os.Args, env)
	runtime.UnlockOSThread()
	svlog.Warn("unable to reset the inherited signal mask (re-exec of %s: %v): children may inherit it", self, err)
}

func closeExtraFds() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			unix.CloseOnExec(fd)
		}
	}
}

// inheritedSignals are the calling thread's signal mask and the signals
// ignored now: what /proc/self/status calls SigBlk and SigIgn on svinit's
// main thread, asked of the kernel directly (rt_sigprocmask, rt_sigaction)
// — it runs in every applet's start-up (single.go's startMask), where
// opening a file would also start the runtime's netpoller.
func inheritedSignals() (blocked, ignored uint64) {
	var set unix.Sigset_t
	if unix.PthreadSigmask(unix.SIG_SETMASK, nil, &set) == nil {
		blocked = set.Val[0]
	}
	for sig := 1; sig <= 64; sig++ {
		var old [4]uint64 // handler, flags, restorer, mask
		_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0,
			uintptr(unsafe.Pointer(&old)), 8, 0, 0)
		if errno == 0 && old[0] == sigIgn {
			ignored |= 1 << (sig - 1)
		}
	}
	return blocked, ignored
}

// sigIgn is SIG_IGN, a handler of 1.
const sigIgn = 1

// setDefault sets one signal's disposition to SIG_DFL with rt_sigaction.
func setDefault(sig int) {
	var act [4]uint64 // handler, flags, restorer, mask: all zero is SIG_DFL
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

package pid1

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SigExecName is argv[0] of svinit started as the trampoline SigExec:
//
//	svinit-sigexec MASK IGNORED STYLE PROGRAM [ARG...]
//
// Go's fork gives a child the signal mask svinit started with and the
// default action for every signal svinit handles, and nothing runs between
// its fork and its exec. tini's child gets tini's inherited mask and
// ignored signals, dumb-init's an empty mask: where that is not what Go
// gives, the child first executes svinit as the trampoline, which sets them
// and executes the program in the same process (same pid). Only then: a
// container normally starts with nothing blocked or ignored.
const SigExecName = "svinit-sigexec"

// SigExec is the trampoline (cmd/ registers it under SigExecName): it
// returns only when the program could not be executed, with the exit code
// and the message of the program svinit stands in for.
func SigExec(args []string) int {
	if len(args) < 4 {
		return 1
	}
	mask, err1 := strconv.ParseUint(args[0], 16, 64)
	ignore, err2 := strconv.ParseUint(args[1], 16, 64)
	if err1 != nil || err2 != nil {
		return 1
	}
	style, argv := args[2], args[3:]
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return execFailure(style, os.Getpid(), argv[0], err, os.Stderr)
	}
	runtime.LockOSThread()
	for sig := 1; sig <= 64; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		if ignore&(1<<(sig-1)) != 0 {
			setIgnore(sig)
		} else {
			setDefault(sig)
		}
	}
	set := unix.Sigset_t{Val: [16]uint64{mask}}
	_ = unix.PthreadSigmask(unix.SIG_SETMASK, &set, nil)
	err = unix.Exec(path, argv, os.Environ())
	return execFailure(style, os.Getpid(), argv[0], err, os.Stderr)
}

// setIgnore sets one signal's disposition to SIG_IGN with rt_sigaction.
func setIgnore(sig int) {
	act := [4]uint64{1} // handler SIG_IGN; flags, restorer, mask zero
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

package pid1

import (
	"os"
	"runtime"
	"strconv"
	"strings"
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
	err := execvp(argv[0], argv, os.Environ())
	return execFailure(style, os.Getpid(), argv[0], err, os.Stderr)
}

// execvp is glibc's: a name without a slash is looked for in PATH (default
// /bin:/usr/bin), trying the next directory after ENOENT, ENOTDIR, ESTALE,
// ENODEV or ETIMEDOUT and reporting EACCES if any candidate gave it; a file
// that is no executable format (ENOEXEC) is run by /bin/sh. It returns only
// on failure.
func execvp(file string, argv, env []string) error {
	if strings.Contains(file, "/") {
		return execOrSh(file, argv, env)
	}
	path, ok := os.LookupEnv("PATH")
	if !ok {
		path = "/bin:/usr/bin"
	}
	sawEACCES := false
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		err := execOrSh(dir+"/"+file, argv, env)
		switch err {
		case unix.EACCES:
			sawEACCES = true
		case unix.ENOENT, unix.ENOTDIR, unix.ESTALE, unix.ENODEV, unix.ETIMEDOUT:
		default:
			return err
		}
	}
	if sawEACCES {
		return unix.EACCES
	}
	return unix.ENOENT
}

func execOrSh(path string, argv, env []string) error {
	err := unix.Exec(path, argv, env)
	if err == unix.ENOEXEC {
		_ = unix.Exec("/bin/sh", append([]string{"sh", path}, argv[1:]...), env)
	}
	return err
}

// setIgnore sets one signal's disposition to SIG_IGN with rt_sigaction.
func setIgnore(sig int) {
	act := [4]uint64{1} // handler SIG_IGN; flags, restorer, mask zero
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}

//go:build system

// Package test holds svinit's end-to-end tests: the real binary, really PID 1
// of a PID namespace (unshare --pid --fork --mount-proc), driving real
// processes. Helper programs are this test binary re-executed: each is
// registered with reexec in TestMain and started as helper(NAME, ARGS...).
package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/reexec"
)

// svinit is the path of the binary under test, built once by TestMain.
var svinit string

// self is this test binary, used as helper programs.
var self string

func TestMain(m *testing.M) {
	self, _ = os.Executable()
	if isHelper() {
		os.Exit(99) // a helper's function exits; only an unknown name comes back
	}
	// Helpers are this binary: under -race they would each sleep 1 s at exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	// No core files from the signal tests.
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	dir, err := os.MkdirTemp("", "svinit-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	svinit = filepath.Join(dir, "svinit")
	// The release build (cmd/svinit/release-build), as the Dockerfile makes it.
	build := exec.Command("sh", "cmd/svinit/release-build", svinit)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building svinit: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// isHelper runs the helper this process was started as, if it was: every
// helper is registered once with reexec under "helper:NAME" and its function
// exits with the helper's code. The name comes as argv[1], after the binary's
// path, not as argv[0] as reexec expects: most helpers are started by sh,
// unshare or svinit, which cannot choose a program's argv[0]. It is moved to
// argv[0] before reexec.Init. An unknown name is said and returns true.
func isHelper() bool {
	if len(os.Args) < 2 || !strings.HasPrefix(os.Args[1], "helper:") {
		return false
	}
	for name, run := range helpers {
		reexec.Register("helper:"+name, func() { os.Exit(run(os.Args[1:])) })
	}
	os.Args = os.Args[1:]
	if !reexec.Init() {
		fmt.Fprintf(os.Stderr, "no helper %q\n", os.Args[0])
	}
	return true
}

// helper is the argv that runs helper NAME from this test binary: the one way
// a test starts a helper, directly or through svinit, unshare or sh
// (helperCmd, helperLine).
func helper(name string, args ...string) []string {
	return append([]string{self, "helper:" + name}, args...)
}

// helperCmd is helper NAME as an exec.Cmd.
func helperCmd(name string, args ...string) *exec.Cmd {
	argv := helper(name, args...)
	return exec.Command(argv[0], argv[1:]...)
}

// helperLine is helper NAME as a shell command line (ARGS must need no
// quoting).
func helperLine(name string, args ...string) string {
	return strings.Join(helper(name, args...), " ")
}

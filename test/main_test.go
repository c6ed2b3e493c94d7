//go:build system

// Package test holds svinit's end-to-end tests: the real binary, really PID 1
// of a PID namespace (unshare --pid --fork --mount-proc), driving real
// processes. Helper programs are this test binary re-executed with
// "helper:NAME" as its first argument.
package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// svinit is the path of the binary under test, built once by TestMain.
var svinit string

// self is this test binary, used as helper programs.
var self string

func TestMain(m *testing.M) {
	self, _ = os.Executable()
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "helper:") {
		os.Exit(runHelper(strings.TrimPrefix(os.Args[1], "helper:"), os.Args[2:]))
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

// helper is the argv that runs helper NAME from this test binary.
func helper(name string, args ...string) []string {
	return append([]string{self, "helper:" + name}, args...)
}

//go:build system

package test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/internal/testkit"
)

// run is one svinit process started by a test, in a PID namespace or not.
type run struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *testkit.SyncBuffer
	stderr *testkit.SyncBuffer
	done   chan struct{}
	err    error
}

// startNS starts svinit ARGS as PID 1 of a new PID namespace.
func startNS(t *testing.T, args ...string) *run {
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", svinit}, args...)
	return start(t, exec.Command("unshare", argv...))
}

// startNSEnv is startNS with extra environment variables.
func startNSEnv(t *testing.T, env []string, args ...string) *run {
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", svinit}, args...)
	cmd := exec.Command("unshare", argv...)
	cmd.Env = append(os.Environ(), env...)
	return start(t, cmd)
}

// startPlain starts svinit ARGS as an ordinary child of the test (a subreaper).
func startPlain(t *testing.T, args ...string) *run {
	return start(t, exec.Command(svinit, args...))
}

func start(t *testing.T, cmd *exec.Cmd) *run {
	t.Helper()
	r := &run{t: t, cmd: cmd, stdout: &testkit.SyncBuffer{}, stderr: &testkit.SyncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = r.stdout
	}
	cmd.Stderr = r.stderr
	require.NoError(t, cmd.Start())
	go func() { r.err = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.done
	})
	return r
}

// wait returns svinit's exit code (through unshare, which passes it on).
func (r *run) wait(timeout time.Duration) int {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.t.Fatalf("svinit still running after %v\nstdout: %s\nstderr: %s", timeout, r.stdout, r.stderr)
	}
	var ee *exec.ExitError
	if errors.As(r.err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(r.t, r.err)
	return 0
}

// initPid is the host pid of svinit: the cmd itself, or unshare's only child.
func (r *run) initPid() int {
	r.t.Helper()
	if !strings.HasSuffix(r.cmd.Path, "unshare") {
		return r.cmd.Process.Pid
	}
	var pid int
	require.Eventually(r.t, func() bool {
		kids := children(r.cmd.Process.Pid)
		if len(kids) == 1 {
			pid = kids[0]
		}
		return pid != 0
	}, 5*time.Second, time.Millisecond)
	return pid
}

// signal sends sig to svinit.
func (r *run) signal(sig syscall.Signal) {
	r.t.Helper()
	require.NoError(r.t, syscall.Kill(r.initPid(), sig))
}

// waitOutput waits until svinit's stdout contains s.
func (r *run) waitOutput(s string) {
	r.t.Helper()
	require.Eventually(r.t, func() bool { return strings.Contains(r.stdout.String(), s) },
		10*time.Second, time.Millisecond, "waiting for %q in stdout %q, stderr %q", s, r.stdout, r.stderr)
}

// children lists the children of pid from /proc/PID/task/*/children.
func children(pid int) []int {
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	var out []int
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
	}
	return out
}

// zombieChildren counts the children of pid that are zombies.
func zombieChildren(pid int) int {
	n := 0
	for _, c := range children(pid) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(c) + "/stat")
		if i := bytes.LastIndexByte(b, ')'); i > 0 && len(b) > i+2 && b[i+2] == 'Z' {
			n++
		}
	}
	return n
}

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

package reaper

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStatusCode(t *testing.T) {
	for code := 0; code < 256; code++ {
		require.Equal(t, code, StatusCode(unix.WaitStatus(code<<8)))
	}
	require.Equal(t, 137, StatusCode(unix.WaitStatus(9)))
	require.Equal(t, 143, StatusCode(unix.WaitStatus(15)))
	require.Equal(t, "exit 3", Describe(unix.WaitStatus(3<<8)))
	require.Equal(t, "signal 9 (SIGKILL)", Describe(unix.WaitStatus(9)))
}

// take waits until the reaper has queued n exits or reports no child left.
func take(t *testing.T, r *Reaper, n int) (exits []Exit, empty bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-r.Ready():
			exits = append(exits, r.Take()...)
			if len(exits) >= n && r.Empty() {
				return exits, true
			}
		case <-deadline:
			t.Fatalf("reaper: %d of %d exits after 5s", len(exits), n)
		}
	}
}

// Start then the waiter: the exits of real children come back with their
// codes, and orphans (here: a grandchild left behind by sh) are counted.
func TestStartAndReap(t *testing.T) {
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	r := New()
	defer r.Close()
	a, err := r.Start(Spec{Path: "sh", Argv: []string{"sh", "-c", "exit 42"}, Pgid: true})
	require.NoError(t, err)
	b, err := r.Start(Spec{Path: "sh", Argv: []string{"sh", "-c", "sleep 0.1 & exit 0"}})
	require.NoError(t, err)
	exits, empty := take(t, r, 2)
	require.True(t, empty)
	byProc := map[*Proc]int{}
	for _, e := range exits {
		byProc[e.Proc] = e.Code()
		require.Equal(t, e.Proc.Pid, e.Pid)
	}
	require.Equal(t, map[*Proc]int{a: 42, b: 0}, byProc)
	require.Equal(t, 1, r.Orphans())
}

func TestStartErrors(t *testing.T) {
	r := New()
	defer r.Close()
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\n"), 0o644))
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{filepath.Join(dir, "nope"), 127, "unable to start " + dir + "/nope: file does not exist"},
		{"svinit-no-such-command", 127, "unable to start svinit-no-such-command: file does not exist"},
		{script, 126, "unable to start " + script + ": access denied (not executable?)"},
	} {
		_, err := r.Start(Spec{Path: tc.path, Argv: []string{tc.path}})
		var se *StartError
		require.ErrorAs(t, err, &se)
		require.Equal(t, tc.code, se.Code())
		require.EqualError(t, err, tc.msg)
	}
}

// Signal reaches a running process and refuses one already reaped, whose
// pid may belong to someone else by now.
func TestSignal(t *testing.T) {
	r := New()
	defer r.Close()
	p, err := r.Start(Spec{Path: "sleep", Argv: []string{"sleep", "10"}, Pgid: true})
	require.NoError(t, err)
	require.NoError(t, r.Signal(p, unix.SIGTERM, true))
	exits, _ := take(t, r, 1)
	require.Equal(t, 128+int(unix.SIGTERM), exits[0].Code())
	require.ErrorIs(t, r.Signal(p, unix.SIGTERM, false), unix.ESRCH)
}

// A pidfd reaches the process it was opened for; none is opened for a
// process already reaped.
func TestPidFD(t *testing.T) {
	r := New()
	defer r.Close()
	p, err := r.Start(Spec{Path: "sleep", Argv: []string{"sleep", "10"}})
	require.NoError(t, err)
	fd, err := r.PidFD(p)
	require.NoError(t, err)
	defer unix.Close(fd)
	require.NoError(t, unix.PidfdSendSignal(fd, unix.SIGUSR2, nil, 0))
	exits, _ := take(t, r, 1)
	require.Equal(t, 128+int(unix.SIGUSR2), exits[0].Code())
	_, err = r.PidFD(p)
	require.ErrorIs(t, err, unix.ESRCH)
	require.ErrorIs(t, unix.PidfdSendSignal(fd, unix.SIGUSR2, nil, 0), unix.ESRCH)
}

// Started processes and orphans ending together, many times over: every
// started process's exit is queued with its own code, never reaped as an
// orphan (the waitid waiter reaps orphans by itself, orphans.go), and every
// orphan is counted. Each sh leaves one orphan behind.
func TestStartsAmidOrphans(t *testing.T) {
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	for round := 0; round < 2; round++ {
		r := newReaper()
		const n = 200
		procs := map[*Proc]bool{}
		for i := 0; i < n; i++ {
			p, err := r.Start(Spec{Path: "sh", Argv: []string{"sh", "-c", "(exit 0) & exit 7"}})
			require.NoError(t, err)
			procs[p] = true
		}
		exits, empty := take(t, r, n)
		require.True(t, empty)
		require.Len(t, exits, n)
		for _, e := range exits {
			require.True(t, procs[e.Proc], "an exit of no started process: pid %d", e.Pid)
			require.Equal(t, 7, e.Code())
			delete(procs, e.Proc)
		}
		require.Equal(t, n, r.Orphans())
		r.Close()
	}
}

// Through the spawner, a child gets the fds Files names (passed to the
// spawner's own fd table) and nothing else, however many fds svinit has
// opened since: here 200 more.
func TestSpawnerPassesFilesOnly(t *testing.T) {
	r := New()
	defer r.Close()
	require.NoError(t, r.UseSpawner())
	r.FdsHeld(spawnerFrom)
	var many []*os.File
	for i := 0; i < 100; i++ {
		pr, pw, err := os.Pipe()
		require.NoError(t, err)
		many = append(many, pr, pw)
	}
	defer func() {
		for _, f := range many {
			f.Close()
		}
	}()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	devnull, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer devnull.Close()
	_, err = r.Start(Spec{Path: "sh", Argv: []string{"sh", "-c", "echo out; echo err >&2; echo four >&4; exec ls /proc/self/fd"},
		Files: []uintptr{devnull.Fd(), pw.Fd(), pw.Fd(), ^uintptr(0), pw.Fd()}})
	pw.Close()
	require.NoError(t, err)
	exits, _ := take(t, r, 1)
	require.Equal(t, 0, exits[0].Code())
	b, err := io.ReadAll(pr)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Equal(t, []string{"out", "err", "four"}, lines[:3])
	fds := lines[3:]
	require.Subset(t, fds, []string{"0", "1", "2", "4"})
	for _, f := range append(many, pr, devnull) {
		require.NotContains(t, fds, strconv.Itoa(int(f.Fd())), "svinit's own fds are not the child's")
	}
}

package reaper

import (
	"os"
	"path/filepath"
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

// Spawn then Reap: the exit of a real child comes back with its code.
func TestSpawnAndReap(t *testing.T) {
	pid, err := Spawn(Spec{Path: "sh", Argv: []string{"sh", "-c", "exit 42"}, Pgid: true})
	require.NoError(t, err)
	var got []Exit
	require.Eventually(t, func() bool {
		Reap(func(e Exit) { got = append(got, e) })
		return len(got) == 1
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, pid, got[0].Pid)
	require.Equal(t, 42, got[0].Code())
	require.True(t, Reap(func(Exit) { t.Fatal("no more children") }), "ECHILD once all are reaped")
}

func TestSpawnErrors(t *testing.T) {
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
		{script, 126, "unable to start " + script + ": permission denied (not executable?)"},
	} {
		_, err := Spawn(Spec{Path: tc.path, Argv: []string{tc.path}})
		var se *StartError
		require.ErrorAs(t, err, &se)
		require.Equal(t, tc.code, se.Code())
		require.EqualError(t, err, tc.msg)
	}
}

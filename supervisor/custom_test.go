package supervisor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/svinit/svinit/reaper"
)

// A control script that exited 0 stands in for its command's signal only:
// for d, x and t the TERM, never the CONT that follows.
func TestSuppressed(t *testing.T) {
	sig := func(s unix.Signal) action { return signal(s) }
	stop := action{kind: actDownSignal}
	for _, tc := range []struct {
		handled byte
		act     action
		want    bool
	}{
		{0, sig(unix.SIGHUP), false},
		{'h', sig(unix.SIGHUP), true},
		{'h', sig(unix.SIGCONT), false},
		{'k', sig(unix.SIGKILL), true},
		{'t', sig(unix.SIGTERM), true},
		{'t', sig(unix.SIGCONT), false},
		{'d', stop, true},
		{'d', sig(unix.SIGCONT), false},
		{'x', stop, true},
		{'t', stop, false},
		{'p', sig(unix.SIGSTOP), true},
		{'c', sig(unix.SIGCONT), true},
		{'u', action{kind: actStartRun}, false},
	} {
		v := &service{protocol: protocol{handled: tc.handled}}
		require.Equal(t, tc.want, v.suppressed(tc.act), "handled %q, action %+v", tc.handled, tc.act)
	}
}

// Which scripts run around a command: u (and o) always; the others only
// while ./run runs; d and x: control/t, then control/d or x; not for a
// logger; not a file that is not executable.
func TestCustomScripts(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "control"), 0o755))
	for _, c := range []string{"u", "t", "d", "h"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "control", c), []byte("#!/bin/sh\n"), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "control", "a"), []byte("#!/bin/sh\n"), 0o644))
	ctl := func(c string) string { return filepath.Join(dir, "control", c) }
	up := &service{dir: dir, st: state{phase: phaseUp}, processes: processes{proc: &reaper.Proc{}}}
	down := &service{dir: dir, st: state{phase: phaseDown}}
	logger := &service{dir: dir, st: state{phase: phaseUp}, processes: processes{proc: &reaper.Proc{}}, output: output{parent: up}}
	for _, tc := range []struct {
		v             *service
		c             byte
		before, after string
	}{
		{up, 'h', ctl("h"), ""},
		{up, 'a', "", ""}, // not executable
		{up, 'i', "", ""}, // none
		{up, 'd', ctl("t"), ctl("d")},
		{up, 'x', ctl("t"), ""},
		{up, 't', ctl("t"), ""},
		{up, 'o', ctl("u"), ""},
		{down, 'u', ctl("u"), ""},
		{down, 'h', "", ""},
		{down, 'd', "", ""},
		{logger, 't', "", ""},
	} {
		before, after := customScripts(tc.v, tc.c)
		require.Equal(t, tc.before, before, "%q", tc.c)
		require.Equal(t, tc.after, after, "%q", tc.c)
	}
}

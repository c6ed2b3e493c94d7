//go:build system

package test

import (
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sortedLines compares output whose lines two processes write at once
// (dumb-init's child and parent both print debug lines).
func sortedLines(t *testing.T, d, s outcome) {
	sorted := func(x string) []string { l := strings.Split(x, "\n"); sort.Strings(l); return l }
	require.Equal(t, d.Code, s.Code)
	require.Equal(t, d.Stdout, s.Stdout)
	require.Equal(t, sorted(d.Stderr), sorted(s.Stderr))
}

// groupScript: the child and a grandchild in its group each report the
// TERM they get.
const groupScript = `exec 2>/dev/null; trap 'wait; echo child; exit 3' TERM; ` +
	`sh -c 'trap "echo grandchild; exit 0" TERM; while :; do sleep 0.01; done' & sleep 0.1; echo ready; while :; do sleep 0.01; done`

func TestDumbInitSideBySide(t *testing.T) {
	script := noShebang(t)
	sideBySide(t, "dumb-init", []peerCase{
		{name: "a directory", args: []string{"/etc"}},
		{name: "not found in PATH", args: []string{"svinit-no-such-program"}},
		{name: "a script without #!", args: []string{script}},
		{name: "no arguments"},
		{name: "help", args: []string{"-h"}},
		{name: "long help", args: []string{"--help", "-x"}},
		{name: "version", args: []string{"-V"}},
		{name: "bad flag", args: []string{"-x", "true"}},
		{name: "bad long flag", args: []string{"--bogus", "true"}},
		{name: "ambiguous", args: []string{"--ver", "true"}},
		{name: "bad rewrite", args: []string{"-r", "99:1", "true"}},
		{name: "rewrite without value", args: []string{"--rewrite"}},
		{name: "options end at the program", args: shArgs("exit 3")},
		{name: "killed child", args: shArgs("kill -9 $$")},
		{name: "not found", args: []string{"/nonexistent/prog"}},
		{name: "not executable", args: []string{"/etc/passwd"}},
		{name: "debug", env: []string{"DUMB_INIT_DEBUG=1"}, args: shArgs("exit 3"), compare: sortedLines},
		{name: "debug, TERM rewritten to 0 at the child's exit", env: []string{"DUMB_INIT_DEBUG=1"},
			args: append([]string{"-r", "15:0"}, shArgs("exit 4")...), compare: sortedLines},
		{name: "verbose, single child", args: append([]string{"-v", "-c"}, shArgs("exit 3")...), compare: sortedLines},
		{name: "child state", args: shArgs(childState)},
		{name: "child state, single child", args: append([]string{"-c"}, shArgs(childState)...)},
		{name: "child state, DUMB_INIT_SETSID=0", env: []string{"DUMB_INIT_SETSID=0"}, args: shArgs(childState)},
		{name: "child state, inherited mask", wrap: perlSigconf, args: shArgs(childState)},
		{name: "cwd is / once the child runs", args: shArgs(`sleep 0.3; readlink /proc/$PPID/cwd; pwd`)},
		{name: "never a subreaper", args: shArgs(orphanScript)},
		{name: "TERM to the whole group", ready: "ready", act: signalInit(syscall.SIGTERM), args: shArgs(groupScript)},
		{name: "-c: TERM to the child alone", ready: "ready", act: signalInit(syscall.SIGTERM),
			args: append([]string{"-c"}, shArgs(`exec 2>/dev/null; trap 'echo child; exit 3' TERM; sh -c 'trap "echo grandchild" TERM; sleep 1' & sleep 0.1; echo ready; while :; do sleep 0.01; done`)...)},
		{name: "rewrite TERM to USR1", ready: "ready", act: signalInit(syscall.SIGTERM),
			args: append([]string{"--rewrite", "15:10"}, shArgs(`exec 2>/dev/null; trap 'echo usr1; exit 4' USR1; trap 'echo term; exit 5' TERM; echo ready; while :; do sleep 0.01; done`)...)},
		{name: "rewrite to 0: not passed on", ready: "ready",
			act: func(t *testing.T, init int) {
				require.NoError(t, syscall.Kill(init, syscall.SIGTERM))
				require.NoError(t, syscall.Kill(init, syscall.SIGUSR2))
			},
			args: append([]string{"-r", "15:0"}, shArgs(`exec 2>/dev/null; trap 'echo term; exit 5' TERM; trap 'echo usr2; exit 6' USR2; echo ready; while :; do sleep 0.01; done`)...)},
		{name: "the child's exit: TERM to what it left, exit at once", within: 3 * time.Second,
			args: shArgs(`exec 2>/dev/null; sh -c 'trap "echo left; exit 0" TERM; while :; do sleep 0.01; done' & sleep 0.2; exit 5`)},
		{name: "TSTP stops the group and the init; CONT resumes", ready: "ready", act: jobControl,
			args: shArgs(`exec 2>/dev/null; trap 'echo term; exit 4' TERM; echo ready; while :; do sleep 0.01; done`)},
		{name: "as PID 1", wrap: []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"},
			args: shArgs(`(sleep 0.1 &) ; sleep 0.3; echo pid=$$; exit 9`)},
	})
}

// jobControl: TSTP to the init stops its child's group and then the init
// itself; CONT wakes the init, which passes CONT on; TERM then ends it.
func jobControl(t *testing.T, init int) {
	kids := children(init)
	require.Len(t, kids, 1)
	require.NoError(t, syscall.Kill(init, syscall.SIGTSTP))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, byte('T'), processState(init), "the init stopped itself")
		// dash waits for a vfork child in D: stopped between its vfork and exec
		assert.Contains(c, "TD", string(processState(kids[0])), "the child's group got STOP")
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, syscall.Kill(init, syscall.SIGCONT))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.NotEqual(c, byte('T'), processState(init))
		assert.NotEqual(c, byte('T'), processState(kids[0]), "CONT passed on")
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, syscall.Kill(init, syscall.SIGTERM))
}

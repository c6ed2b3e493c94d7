//go:build system

package test

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trapRun is the common run script shape: a child in the background, and a
// TERM trap that runs a command (date), waits a little, stops the child and
// exits 0. It logs "start NAME", "TERM NAME", "date NAME", "kill NAME" (it
// is about to stop its child) and "exit NAME"; the child logs "childTERM
// NAME" when it gets TERM: after "kill NAME" when its service sent it.
func trapRun(name, log string) files {
	return files{
		"child": fmt.Sprintf("#!/bin/bash\ntrap 'echo \"childTERM %s\" >> %s; kill $s; exit 0' TERM\nsleep 100000 & s=$!\nwait\n", name, log),
		"run": fmt.Sprintf(`#!/bin/bash
echo "start %[1]s" >> %[2]s
trap 'echo "TERM %[1]s" >> %[2]s; echo "date %[1]s $(date +%%s)" >> %[2]s; sleep 0.2; echo "kill %[1]s" >> %[2]s; kill $c; wait $c; echo "exit %[1]s" >> %[2]s; exit 0' TERM
./child & c=$!
wait $c
echo "exit %[1]s child-gone" >> %[2]s
exit 0
`, name, log),
	}
}

func withFiles(fs files, more map[string]string) files {
	for k, v := range more {
		fs[k] = v
	}
	return fs
}

// indexOf is the line number of the first line equal to l, -1 if none.
func indexOf(ls []string, l string) int {
	for i, x := range ls {
		if x == l {
			return i
		}
	}
	return -1
}

// The tree a new user tried (issue 14): c depends on b, b on a, x and y
// independent, every run script traps TERM, runs a command in the trap and
// has a child. On SIGTERM to PID 1: c, x and y get TERM at once; b only
// after c exited, a only after b exited; each child gets TERM from its own
// service only (after its service's TERM), so each trap's command runs
// whole; nothing is started again; PID 1 exits 0.
func TestShutdownChain(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	root := makeTree(t, map[string]files{
		"a": trapRun("a", log),
		"b": withFiles(trapRun("b", log), map[string]string{"depends": "a\n"}),
		"c": withFiles(trapRun("c", log), map[string]string{"depends": "b\n"}),
		"x": trapRun("x", log),
		"y": trapRun("y", log),
	})
	r := startTree(t, root, "--grace", "30s")
	for _, name := range []string{"a", "b", "c", "x", "y"} {
		waitState(t, filepath.Join(root, name), isUp, "up")
	}
	waitLines(t, log, 5)
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(40*time.Second), "stderr: %s", r.stderr)
	ls := lines(log)
	at := func(l string) int {
		i := indexOf(ls, l)
		require.GreaterOrEqual(t, i, 0, "no line %q in\n%s", l, strings.Join(ls, "\n"))
		return i
	}
	for _, name := range []string{"a", "b", "c", "x", "y"} {
		require.Equal(t, 1, strings.Count("\n"+strings.Join(ls, "\n")+"\n", "\nstart "+name+"\n"), "%s started once:\n%s", name, strings.Join(ls, "\n"))
		require.Less(t, at("kill "+name), at("childTERM "+name), "%s's child: TERM from its service only", name)
		require.Less(t, at("childTERM "+name), at("exit "+name))
		require.Less(t, at("TERM "+name), at("exit "+name))
		require.Equal(t, -1, indexOf(ls, "exit "+name+" child-gone"), "nobody but %s stopped its child:\n%s", name, strings.Join(ls, "\n"))
		found := false
		for _, l := range ls {
			found = found || strings.HasPrefix(l, "date "+name+" ")
		}
		require.True(t, found, "%s's trap ran its command", name)
	}
	require.Less(t, at("exit c"), at("TERM b"), "b after c exited")
	require.Less(t, at("exit b"), at("TERM a"), "a after b exited")
	for _, name := range []string{"x", "y", "c"} {
		require.Less(t, at("TERM "+name), at("exit c"), "%s stopped at once, beside c", name)
	}
}

// Without depends, every service gets its TERM at once; the helpers they
// started do not: each child's TERM comes from its service's trap.
func TestShutdownLeavesHelpersToTheirService(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	tree := map[string]files{}
	names := []string{"p", "q", "r", "s"}
	for _, n := range names {
		tree[n] = trapRun(n, log)
	}
	root := makeTree(t, tree)
	r := startTree(t, root, "--grace", "30s")
	waitLines(t, log, len(names))
	for _, n := range names {
		waitState(t, filepath.Join(root, n), isUp, "up")
	}
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(40*time.Second), "stderr: %s", r.stderr)
	ls := lines(log)
	for _, n := range names {
		require.GreaterOrEqual(t, indexOf(ls, "kill "+n), 0, "%s:\n%s", n, strings.Join(ls, "\n"))
		require.Less(t, indexOf(ls, "kill "+n), indexOf(ls, "childTERM "+n), "%s:\n%s", n, strings.Join(ls, "\n"))
		require.Equal(t, -1, indexOf(ls, "exit "+n+" child-gone"), strings.Join(ls, "\n"))
	}
}

// down-group: the down-signal goes to ./run's whole process group, as
// tini -g or supervisord's stopasgroup; without it, to ./run alone (as
// daemontools and runit), and a child in the same group is left to it.
func TestDownGroup(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	// The child traps TERM and logs it; the run script exits on TERM
	// without touching the child.
	run := func(name string) string {
		return fmt.Sprintf(`#!/bin/bash
(trap 'echo "childTERM %[1]s" >> %[2]s; exit 0' TERM; echo "child %[1]s" >> %[2]s; while :; do sleep 0.05; done) &
trap 'echo "TERM %[1]s" >> %[2]s; exit 0' TERM
while :; do sleep 0.05; done
`, name, log)
	}
	root := makeTree(t, map[string]files{
		"group": {"run": run("group"), "down-group": ""},
		"alone": {"run": run("alone")},
	})
	startTree(t, root)
	waitLines(t, log, 2)
	for _, n := range []string{"group", "alone"} {
		dir := filepath.Join(root, n)
		waitState(t, dir, isUp, "up")
		_, code := tool(t, "svinit", "svc", "-d", dir)
		require.Equal(t, 0, code)
		waitState(t, dir, isDown, "down")
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		ls := lines(log)
		assert.True(c, indexOf(ls, "childTERM group") >= 0, "group: the child got the down-signal: %q", ls)
	}, 10*time.Second, 20*time.Millisecond)
	ls := lines(log)
	require.GreaterOrEqual(t, indexOf(ls, "TERM alone"), 0)
	require.Equal(t, -1, indexOf(ls, "childTERM alone"), "alone: only ./run gets the down-signal: %q", ls)
}

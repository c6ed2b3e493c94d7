//go:build system

package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/supervisor/svdir"
)

// files describes a service directory: path inside it → content. Scripts
// (run, finish, check, log/run) are made executable.
type files map[string]string

// makeTree writes services under a new root and returns it.
func makeTree(t *testing.T, services map[string]files) string {
	t.Helper()
	root := t.TempDir()
	for name, fs := range services {
		writeService(t, filepath.Join(root, name), fs)
	}
	return root
}

func writeService(t *testing.T, dir string, fs files) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for path, content := range fs {
		full := filepath.Join(dir, path)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		mode := os.FileMode(0o644)
		switch filepath.Base(path) {
		case "run", "finish", "check", "child":
			mode = 0o755 // "child": a helper a test's run script starts
		}
		if filepath.Base(filepath.Dir(path)) == "control" {
			mode = 0o755 // runit's control/ scripts
		}
		require.NoError(t, os.WriteFile(full, []byte(content), mode))
	}
}

// sh is a run script.
func sh(body string) string { return "#!/bin/sh\n" + body + "\n" }

// startTree runs svinit as PID 1 supervising root.
func startTree(t *testing.T, root string, args ...string) *run {
	return startNS(t, append([]string{"-s", root, "--rescan", "0"}, args...)...)
}

// tool runs a client program (a real Debian one, or "svinit APPLET") and
// returns its stdout+stderr and exit code.
func tool(t *testing.T, argv ...string) (string, int) {
	t.Helper()
	out, code, err := combined(command(argv...))
	require.NoError(t, err, "running %v", argv)
	return out, code
}

// command is argv as an exec.Cmd, "svinit" naming the binary under test.
func command(argv ...string) *exec.Cmd {
	name := argv[0]
	if name == "svinit" {
		name = svinit
	}
	return exec.Command(name, argv[1:]...)
}

// combined runs cmd and returns its stdout+stderr and exit code; err only
// when it could not be run or waited for.
func combined(cmd *exec.Cmd) (string, int, error) {
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode(), nil
	}
	return string(out), 0, err
}

// statusOf is svstat --json for one service.
func statusOf(t *testing.T, dir string) serviceStatus {
	t.Helper()
	out, _ := tool(t, "svinit", "svstat", "--json", dir)
	var st serviceStatus
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	return st
}

// serviceStatus is what svstat --json prints for one service.
type serviceStatus = svdir.Report

// waitState waits until the service's svstat --json satisfies ok.
func waitState(t *testing.T, dir string, ok func(serviceStatus) bool, msg string) serviceStatus {
	t.Helper()
	var st serviceStatus
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		// Not statusOf: a require in the condition's goroutine cannot fail
		// the test cleanly.
		out, _ := exec.Command(svinit, "svstat", "--json", dir).CombinedOutput()
		if !assert.NoError(c, json.Unmarshal(out, &st), "svstat: %s", out) {
			return
		}
		assert.True(c, ok(st), "last status %+v", st)
	}, 10*time.Second, 20*time.Millisecond, "%s: %s", dir, msg)
	return st
}

func isUp(st serviceStatus) bool   { return st.State == "up" && st.Pid != 0 }
func isDown(st serviceStatus) bool { return st.State == "down" && st.Pid == 0 }

// lines reads a file as lines (missing: none).
func lines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// waitLines waits until path has at least n lines.
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(lines(path)) >= n }, 15*time.Second, 5*time.Millisecond,
		"%s: want %d lines, have %q", path, n, lines(path))
	return lines(path)
}

// stamps parses lines of "WORD SECONDS.NANOS" (date +%s.%N) as times.
func stamps(t *testing.T, ls []string) []float64 {
	var out []float64
	for _, l := range ls {
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		require.NoError(t, err, l)
		out = append(out, v)
	}
	return out
}

package pid1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTerminationLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "termination-log")

	writeTermination(path, "", 1)
	writeTermination(path, "a reason", 0)
	writeTermination("", "a reason", 1)
	require.NoFileExists(t, path, "no reason, a success, or no path: nothing written")

	writeTermination(path, "essential service db gave up (exit code 3)\nsecond line", 3)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "essential service db gave up (exit code 3) second line\n", string(b), "one line")

	writeTermination(path, strings.Repeat("x", 5000), 1)
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	require.Len(t, b, maxTermination+1, "cut, and the old content replaced")

	// A directory that does not exist: a warning, nothing else.
	writeTermination(filepath.Join(dir, "no", "such"), "a reason", 1)
	require.NoDirExists(t, filepath.Join(dir, "no"))
}

func TestTerminationFirstReasonWins(t *testing.T) {
	var tm termination
	tm.failed("essential service %s gave up", "db")
	tm.failed("main command exited with code %d", 143)
	require.Equal(t, "essential service db gave up", tm.reason)

	in := &initProc{cfg: Config{Argv: []string{"app"}, ZeroCodes: map[int]bool{3: true}}}
	in.mainExited(3)
	require.Empty(t, in.term.reason, "-e 3 makes 3 a success")
	in.phase = stopping
	in.mainExited(143)
	require.Empty(t, in.term.reason, "stopped by svinit: not a failure of its own")
	in.phase = running
	in.mainExited(2)
	require.Equal(t, "main command app exited with code 2", in.term.reason)
}

func TestEssentialReason(t *testing.T) {
	dir := t.TempDir()
	require.Equal(t, "essential service db gave up (exit code 3)", essentialReason(dir, "db", 3))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "db", "supervise"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "db", "supervise", "svinit.json"),
		[]byte(`{"state":"down","last_error":"gave up after 4 failures in a row (max-restarts 3)"}`), 0o644))
	require.Equal(t, "essential service db gave up (exit code 3): gave up after 4 failures in a row (max-restarts 3)",
		essentialReason(dir, "db", 3))
}

func TestTerminationLogOption(t *testing.T) {
	cfg, err := ParseArgs(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, DefaultTerminationLog, cfg.TerminationLog)
	cfg, err = ParseArgs(nil, env(map[string]string{"SVINIT_TERMINATION_LOG": "/tmp/x"}))
	require.NoError(t, err)
	require.Equal(t, "/tmp/x", cfg.TerminationLog)
	cfg, err = ParseArgs([]string{"--termination-log", ""}, env(map[string]string{"SVINIT_TERMINATION_LOG": "/tmp/x"}))
	require.NoError(t, err)
	require.Empty(t, cfg.TerminationLog, `--termination-log "" writes nothing`)
}

package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// svinit check on runit's control/ scripts: a name that is no command, and
// a script that would be skipped because it cannot run, are problems.
func TestLintControl(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "web")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "control"), 0o755))
	write := func(name string, mode os.FileMode) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode))
	}
	write("run", 0o755)
	write("control/t", 0o755)
	write("control/h", 0o644)
	write("control/term", 0o755)
	require.Equal(t, []string{
		dir + "/control/term: not a control command (one of u d o x p c h a i q 1 2 t k)",
		"unable to start " + dir + "/control/h: not executable (chmod +x h)",
	}, Lint(root))
}

// svinit check reports what svinit would warn about at a start: a bad
// schedule, health knob or restart policy, each naming its file, and a
// health probe or ./undo that cannot run.
func TestLintConfig(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "job")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, content := range map[string]string{
		"run": "#!/bin/sh\n", "schedule": "*/61 * * *\n", "health-interval": "soon\n",
		"restart": "sometimes\n", "health": "#!/bin/sh\n",
	} {
		mode := os.FileMode(0o644)
		if name == "run" {
			mode = 0o755
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), mode))
	}
	problems := Lint(root)
	require.Len(t, problems, 4, "%q", problems)
	require.Contains(t, problems, dir+`/health-interval: not a duration (10s, 500ms, or milliseconds): "soon"`)
	require.Contains(t, problems, dir+`/restart: not a restart policy (always, never or on-failure): "sometimes"`)
	require.Contains(t, problems, "unable to start "+dir+"/health: not executable (chmod +x health)")
	found := false
	for _, p := range problems {
		found = found || strings.HasPrefix(p, dir+"/schedule: not a schedule (5-field cron, @hourly, @every 10m): ")
	}
	require.True(t, found, "%q", problems)
}

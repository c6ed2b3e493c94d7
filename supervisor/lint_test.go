package supervisor

import (
	"os"
	"path/filepath"
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

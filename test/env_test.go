//go:build system

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A service's env/ directory (envdir's format) is applied before ./run and
// its ./finish: a file sets a variable (its first line), an empty one
// removes it. One that cannot be read (here a subdirectory, as envdir
// refuses it) fails the start with the file named — the service is never
// started with half its environment — until it is fixed.
func TestServiceEnvDir(t *testing.T) {
	out := t.TempDir()
	root := makeTree(t, map[string]files{
		"app": {
			"run":          sh(`echo "run GREETING=$GREETING GONE=${GONE-unset} KEEP=$KEEP" >> ` + out + `/log; exec sleep 1000`),
			"finish":       sh(`echo "finish GREETING=$GREETING" >> ` + out + `/log`),
			"env/GREETING": "hello world  \nsecond line ignored\n",
			"env/GONE":     "",
		},
	})
	require.NoError(t, os.Mkdir(filepath.Join(root, "app", "env", "BROKEN"), 0o755))
	r := startNSEnv(t, []string{"GONE=from-svinit", "KEEP=kept"}, "-s", root, "--rescan", "0")
	dir := filepath.Join(root, "app")
	st := waitState(t, dir, func(st serviceStatus) bool { return st.LastError != "" }, "start refused")
	broken := filepath.Join(dir, "env", "BROKEN")
	require.Equal(t, "not starting "+dir+"/run: unable to read "+broken+": is a directory", st.LastError)
	require.NoFileExists(t, out+"/log", "never started with half its environment")
	require.Contains(t, r.stderr.String(), "unable to read "+broken+": is a directory")

	require.NoError(t, os.Remove(broken))
	waitState(t, dir, isUp, "up once env/ can be read")
	require.Equal(t, []string{"run GREETING=hello world GONE=unset KEEP=kept"}, waitLines(t, out+"/log", 1))
	_, code := tool(t, "svinit", "svc", "-d", dir)
	require.Equal(t, 0, code)
	ls := waitLines(t, out+"/log", 2)
	require.Equal(t, "finish GREETING=hello world", ls[1])
	require.False(t, strings.Contains(r.stderr.String(), "panic"))
}

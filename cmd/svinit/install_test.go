package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// svinit --install DIR links every applet an image calls by name, the
// s6-overlay, tini, dumb-init, supervisord and my_init ones too, each link
// reaching its applet; not svinit itself, its subcommands, /init or the
// hidden applets of generated scripts. A second run replaces the links.
func TestInstall(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bin")
	require.Zero(t, install(dir))
	require.Zero(t, install(dir), "again, over its own links")
	self, err := os.Executable()
	require.NoError(t, err)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		require.NoError(t, err, "%s is a link", e.Name())
		require.Equal(t, self, target)
		name, args := pick([]string{filepath.Join(dir, e.Name()), "x"})
		require.Equal(t, e.Name(), name, "the link reaches its applet")
		require.Equal(t, []string{"x"}, args)
	}
	for _, want := range []string{"svc", "svstat", "svok", "sv", "svscanctl", "svwait", "setuidgid",
		"envuidgid", "envdir", "softlimit", "pgrphack", "chpst", "multilog", "tai64nlocal",
		"with-contenv", "printcontenv", "s6-setuidgid", "s6-envdir", "s6-envuidgid", "s6-softlimit",
		"s6-applyuidgid", "tini", "docker-init", "dumb-init", "supervisord", "supervisorctl", "my_init"} {
		require.Contains(t, got, want)
	}
	for _, name := range got {
		require.False(t, strings.HasPrefix(name, "--"), "hidden applet %s linked", name)
	}
	for _, not := range []string{"svinit", "check", "health", "init", "supervisord-run", "supervisord-logger"} {
		require.NotContains(t, got, not)
	}
	// Every s6-* name the binary dispatches is linked.
	for _, a := range table {
		if strings.HasPrefix(a.name, "s6-") {
			require.Contains(t, got, a.name)
		}
	}
}

// In the binary's own directory the links are relative, so a copy of the
// directory keeps working (the test binary's directory is go test's own).
func TestInstallBesideSelf(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	require.Zero(t, install(filepath.Dir(self)))
	target, err := os.Readlink(filepath.Join(filepath.Dir(self), "with-contenv"))
	require.NoError(t, err)
	require.Equal(t, filepath.Base(self), target)
}

//go:build system

package test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// svinit's s6-* chain-loading applets do what Debian's s6 binaries do on
// the same input: output and exit code compared side by side.
func TestS6ChainMatchesDebian(t *testing.T) {
	env := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(env, "FOO"), []byte("bar  \nignored\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(env, "EMPTY"), nil, 0o644))
	cases := [][]string{
		{"s6-setuidgid", "nobody", "id"},
		{"s6-setuidgid", "65534:65534", "id"},
		{"s6-envuidgid", "nobody", "sh", "-c", "echo $UID $GID [$GIDLIST]"},
		{"s6-envuidgid", "-u", "nobody", "sh", "-c", "echo ${UID:-unset} ${GID:-unset}"},
		{"s6-applyuidgid", "-u", "65534", "-g", "65534", "-G", "", "id"},
		{"s6-softlimit", "-o", "10", "sh", "-c", "ulimit -n"},
		{"s6-envdir", env, "sh", "-c", "echo [$FOO] ${EMPTY-unset}"},
		{"s6-envdir", "-I", filepath.Join(env, "missing"), "echo", "ok"},
	}
	for _, c := range cases {
		real, realCode := tool(t, c...)
		ours, ourCode := tool(t, append([]string{"svinit"}, c...)...)
		require.Equal(t, real, ours, "output of %v", c)
		require.Equal(t, realCode, ourCode, "exit code of %v", c)
	}
}

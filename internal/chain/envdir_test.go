package chain

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A subdirectory fails envdir (daemontools) and is skipped, and reported,
// when a skipDir is given (runit's chpst -e); a dangling symlink removes
// its variable in both, as an empty file does.
func TestEnvdirSubdirAndDanglingLink(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "CHAIN_A"), []byte("a\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "CHAIN_SUB"), 0o755))
	require.NoError(t, os.Symlink("/nonexistent", filepath.Join(dir, "CHAIN_GONE")))
	sub := filepath.Join(dir, "CHAIN_SUB")

	t.Setenv("CHAIN_GONE", "set before")
	require.EqualError(t, Envdir(dir, nil), "unable to read "+sub+": is a directory")

	t.Setenv("CHAIN_A", "")
	t.Setenv("CHAIN_GONE", "set before")
	var skipped []string
	require.NoError(t, Envdir(dir, func(path string, err error) {
		require.ErrorIs(t, err, syscall.EISDIR)
		skipped = append(skipped, path)
	}))
	require.Equal(t, []string{sub}, skipped)
	require.Equal(t, "a", os.Getenv("CHAIN_A"))
	_, set := os.LookupEnv("CHAIN_GONE")
	require.False(t, set, "a dangling symlink removes its variable")
}

// ReadEnvdir changes nothing; ApplyEnv sets, replaces and removes, the last
// change of a name winning.
func TestReadAndApplyEnv(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "A"), []byte("one  \nignored"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "GONE"), nil, 0o644))
	t.Setenv("A", "before")
	changes, err := ReadEnvdir(dir, nil)
	require.NoError(t, err)
	require.Equal(t, "before", os.Getenv("A"), "read only")
	require.Equal(t, []EnvChange{{Name: "A", Value: "one"}, {Name: "GONE", Unset: true}}, changes)
	require.Equal(t, []string{"KEEP=1", "A=one"}, ApplyEnv([]string{"A=before", "KEEP=1", "GONE=x"}, changes))

	require.NoError(t, os.Mkdir(filepath.Join(dir, "SUB"), 0o755))
	_, err = ReadEnvdir(dir, nil)
	require.EqualError(t, err, "unable to read "+filepath.Join(dir, "SUB")+": is a directory")
}

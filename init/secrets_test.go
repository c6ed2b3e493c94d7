package pid1

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveSecretFiles(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	tok := filepath.Join(dir, "tok")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	require.NoError(t, os.WriteFile(tok, []byte("t\nu\n\n"), 0o600))
	env := []string{"A=1", "DB_PASSWORD_FILE=" + pw, "FILE__TOKEN=" + tok, "TOKEN=old", "LOG_FILE=/var/log/x"}
	out, err := ResolveSecretFiles(env, SecretsAll)
	require.NoError(t, err)
	require.Equal(t, []string{"A=1", "DB_PASSWORD_FILE=" + pw, "TOKEN=t\nu\n", "LOG_FILE=/var/log/x"}, out,
		"all: a NAME_FILE outside /run/secrets is left alone")

	out, err = ResolveSecretFiles(env, "")
	require.NoError(t, err)
	require.Equal(t, env, out, "off: nothing changes")

	out, err = ResolveSecretFiles(env, "DB_PASSWORD,TOKEN")
	require.NoError(t, err)
	require.Equal(t, []string{"A=1", "TOKEN=t\nu\n", "LOG_FILE=/var/log/x", "DB_PASSWORD=s3cret"}, out)

	out, err = ResolveSecretFiles(env, "DB_PASSWORD")
	require.NoError(t, err)
	require.Equal(t, []string{"A=1", "FILE__TOKEN=" + tok, "TOKEN=old", "LOG_FILE=/var/log/x", "DB_PASSWORD=s3cret"}, out)

	_, err = ResolveSecretFiles(env, "LOG")
	require.EqualError(t, err, "secret LOG: unable to read /var/log/x: file does not exist")
	_, err = ResolveSecretFiles([]string{"X_FILE=/run/secrets/svinit-no-such"}, SecretsAll)
	require.EqualError(t, err, "secret X: unable to read /run/secrets/svinit-no-such: file does not exist")

	_, err = ResolveSecretFiles([]string{"X=1", "X_FILE=" + pw}, "X")
	require.EqualError(t, err, "secret X: both X and X_FILE are set: unset one")
}

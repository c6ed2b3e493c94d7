//go:build system

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// environNoSecrets is the test's environment without any NAME_FILE or
// FILE__NAME of its own (a host may have some: TF_CLI_CONFIG_FILE), which
// --secrets-from-files would read too.
func environNoSecrets() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasSuffix(k, "_FILE") && !strings.HasPrefix(k, "FILE__") {
			out = append(out, kv)
		}
	}
	return out
}

// startSecrets is startNSEnv on environNoSecrets.
func startSecrets(t *testing.T, env []string, args ...string) *run {
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", svinit}, args...)
	cmd := exec.Command("unshare", argv...)
	cmd.Env = append(environNoSecrets(), env...)
	return start(t, cmd)
}

// secretsDir is a new directory under /run/secrets (where --secrets-from-files
// takes NAME_FILE from), removed by the test's cleanup with /run/secrets if
// the test made it.
func secretsDir(t *testing.T) string {
	t.Helper()
	made := false
	if _, err := os.Stat("/run/secrets"); os.IsNotExist(err) {
		require.NoError(t, os.Mkdir("/run/secrets", 0o755))
		made = true
	}
	dir, err := os.MkdirTemp("/run/secrets", "svinit-test-")
	require.NoError(t, err)
	t.Cleanup(func() {
		os.RemoveAll(dir)
		if made {
			os.Remove("/run/secrets") // only if empty
		}
	})
	return dir
}

// secretsSetup writes two secret files (DB_PASSWORD_FILE under
// /run/secrets, FILE__TOKEN elsewhere) and a tree with one service that
// writes what it sees to DIR/service.out; cmd is a CMD that waits for it
// and prints the same line.
func secretsSetup(t *testing.T) (dir, tree string, env []string, cmd []string) {
	t.Helper()
	dir = t.TempDir()
	pw, tok := filepath.Join(secretsDir(t), "pw"), filepath.Join(dir, "tok")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	require.NoError(t, os.WriteFile(tok, []byte("tok en"), 0o600))
	line := `"$DB_PASSWORD|$TOKEN|${DB_PASSWORD_FILE-unset}|${FILE__TOKEN-unset}"`
	out := filepath.Join(dir, "service.out")
	tree = makeTree(t, map[string]files{
		"app": {"run": sh(`echo ` + line + ` > ` + out + `.tmp && mv ` + out + `.tmp ` + out + `; exec sleep 1000`)},
	})
	env = []string{"DB_PASSWORD_FILE=" + pw, "FILE__TOKEN=" + tok}
	cmd = []string{"sh", "-c", `while ! [ -e ` + out + ` ]; do sleep 0.01; done; echo "cmd: "` + line}
	return dir, tree, env, cmd
}

// TestSecretsFromFiles: with --secrets-from-files, NAME_FILE (the official
// images') and FILE__NAME (s6-overlay images') become NAME with the file's
// content, trailing newline dropped, for a service and for the CMD; the
// _FILE variables are gone.
func TestSecretsFromFiles(t *testing.T) {
	for name, how := range map[string]struct{ env, args []string }{
		"flag": {nil, []string{"--secrets-from-files"}},
		"env":  {[]string{"SVINIT_SECRET_FILES=1"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			dir, tree, env, cmd := secretsSetup(t)
			args := append(append(append([]string{"-s", tree, "--rescan", "0"}, how.args...), "--"), cmd...)
			r := startSecrets(t, append(env, how.env...), args...)
			require.Equal(t, 0, r.wait(20*time.Second), "stderr: %s", r.stderr)
			b, err := os.ReadFile(filepath.Join(dir, "service.out"))
			require.NoError(t, err)
			require.Equal(t, "s3cret|tok en|unset|unset\n", string(b))
			require.Contains(t, r.stdout.String(), "cmd: s3cret|tok en|unset|unset\n")
		})
	}
}

// TestSecretsOnlyNamed: SVINIT_SECRET_FILES=NAME,... takes those alone.
func TestSecretsOnlyNamed(t *testing.T) {
	_, tree, env, cmd := secretsSetup(t)
	r := startSecrets(t, append(env, "SVINIT_SECRET_FILES=TOKEN"), append([]string{"-s", tree, "--rescan", "0", "--"}, cmd...)...)
	require.Equal(t, 0, r.wait(20*time.Second), "stderr: %s", r.stderr)
	require.Contains(t, r.stdout.String(), "cmd: |tok en|"+env[0][len("DB_PASSWORD_FILE="):]+"|unset\n")
}

// TestSecretsOptIn: without the flag nothing changes.
func TestSecretsOptIn(t *testing.T) {
	dir, tree, env, cmd := secretsSetup(t)
	r := startSecrets(t, env, append([]string{"-s", tree, "--rescan", "0", "--"}, cmd...)...)
	require.Equal(t, 0, r.wait(20*time.Second), "stderr: %s", r.stderr)
	want := "||" + env[0][len("DB_PASSWORD_FILE="):] + "|" + filepath.Join(dir, "tok") + "\n"
	b, err := os.ReadFile(filepath.Join(dir, "service.out"))
	require.NoError(t, err)
	require.Equal(t, want, string(b))
	require.Contains(t, r.stdout.String(), "cmd: "+want)
}

// TestSecretsUnreadable: a secret file that cannot be read ends svinit
// with code 111 and a message naming it, before any service or the CMD
// starts: nothing runs with half an environment.
func TestSecretsUnreadable(t *testing.T) {
	for _, variable := range []string{"DB_PASSWORD_FILE", "FILE__TOKEN"} {
		t.Run(variable, func(t *testing.T) {
			dir, tree, env, cmd := secretsSetup(t)
			missing := filepath.Join(secretsDir(t), "no", "such")
			r := startSecrets(t, append(env, variable+"="+missing), append([]string{"--secrets-from-files", "-s", tree, "--rescan", "0", "--"}, cmd...)...)
			require.Equal(t, 111, r.wait(20*time.Second), "stderr: %s", r.stderr)
			require.Contains(t, r.stderr.String(), "unable to read "+missing+": file does not exist: nothing started")
			require.NoFileExists(t, filepath.Join(dir, "service.out"))
			require.NoDirExists(t, filepath.Join(tree, "app", "supervise"))
			require.NotContains(t, r.stdout.String(), "cmd:")
		})
	}
}

// TestSecretsMyInit: under my_init the secret is resolved before the
// environment dump: a runit service gets it from its environment and from
// /etc/container_environment.sh.
func TestSecretsMyInit(t *testing.T) {
	m := newMyInitImage(t)
	pw := filepath.Join(secretsDir(t), "pw")
	require.NoError(t, os.WriteFile(pw, []byte("s3cret\n"), 0o600))
	m.script("etc/service/app/run", `echo "env: $DB_PASSWORD" > $ROOT/out.tmp
. $ROOT/etc/container_environment.sh && echo "sh: $DB_PASSWORD ${DB_PASSWORD_FILE-unset}" >> $ROOT/out.tmp && mv $ROOT/out.tmp $ROOT/out
exec sleep 1000`)
	r := m.start([]string{"DB_PASSWORD_FILE=" + pw, "SVINIT_SECRET_FILES=1"})
	require.Equal(t, "env: s3cret\nsh: s3cret unset\n", m.waitFile("out"))
	require.Equal(t, "s3cret", m.read("etc/container_environment/DB_PASSWORD"))
	require.NoFileExists(t, m.path("etc/container_environment/DB_PASSWORD_FILE"))
	r.signal(15)
	require.Equal(t, 0, r.wait(10*time.Second), "stderr: %s", r.stderr)
}

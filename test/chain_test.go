package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Each chain-loader against the real daemontools or runit tool on the same
// input: the same output (ids, limits seen in /proc/self/status and
// /proc/self/limits, environment) and the same exit code, bad input
// included.
func TestChainLoadersMatchDebian(t *testing.T) {
	env := t.TempDir()
	for name, content := range map[string]string{
		"A":      "hello  \t\nsecond line ignored\n",
		"B":      "one\x00two",
		"EMPTY":  "",
		".DOT":   "skipped",
		"SPACES": "   ",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(env, name), []byte(content), 0o644))
	}
	badEnv := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(badEnv, "SUB"), 0o755))
	lock := filepath.Join(t.TempDir(), "lock")
	show := `echo "A=[$A] B=[$B] EMPTY=[${EMPTY-unset}] SPACES=[$SPACES] DOT=[${DOT-unset}] UID=[${UID-}] GID=[${GID-}]"`
	limits := "grep -E '^Max (data|stack|locked|address|open|processes|file size|core|cpu|resident)' /proc/self/limits"
	session := `set -- $(cat /proc/$$/stat); [ "$6" = "$$" ] && echo session leader || echo not leader`
	nice := "cut -d' ' -f19 /proc/self/stat"
	cases := [][]string{
		{"setuidgid", "nobody", "id"},
		{"setuidgid", "nobody", "sh", "-c", "grep -E '^(Uid|Gid|Groups)' /proc/self/status"},
		{"setuidgid", "no-such-user", "id"},
		{"setuidgid", "nobody"},
		{"setuidgid", "nobody", "/nonexistent/program"},
		{"envuidgid", "nobody", "sh", "-c", show},
		{"envuidgid", "no-such-user", "true"},
		{"envuidgid"},
		{"envdir", env, "sh", "-c", show},
		{"envdir", "/nonexistent", "true"},
		{"envdir", badEnv, "true"},
		{"envdir", env},
		{"softlimit", "-m", "100000000", "sh", "-c", limits},
		{"softlimit", "-o", "50", "-p", "100", "-f", "1000000", "-c", "0", "-t", "100", "-r", "10000000", "-l", "65536", "-a", "200000000", "-d", "30000000", "-s", "900000", "sh", "-c", limits},
		{"softlimit", "-o", "=", "sh", "-c", limits},
		{"softlimit", "-m", "lots", "true"},
		{"softlimit", "-z", "1", "true"},
		{"softlimit", "-m", "1000000"},
		{"pgrphack", "sh", "-c", session},
		{"pgrphack"},
		{"chpst", "-u", "nobody", "id"},
		{"chpst", "-u", "nobody:daemon", "id"},
		{"chpst", "-u", "nobody:daemon:adm", "id"},
		{"chpst", "-U", "nobody", "sh", "-c", show},
		{"chpst", "-e", env, "sh", "-c", show},
		{"chpst", "-n", "7", "sh", "-c", nice},
		{"chpst", "-m", "100000000", "-o", "40", "-p", "99", "-f", "500000", "-c", "0", "-d", "40000000", "sh", "-c", limits},
		{"chpst", "-P", "sh", "-c", session},
		{"chpst", "-0", "sh", "-c", "test -e /proc/$$/fd/0 && echo open || echo closed"},
		{"chpst", "-2", "sh", "-c", "ls /nonexistent; echo done"},
		{"chpst", "-/", "/", "sh", "-c", "pwd"},
		{"chpst", "-/", "/nonexistent", "true"},
		{"chpst", "-l", lock, "-L", lock, "echo", "locked"},
		{"chpst", "-L", lock, "echo", "locked"},
		{"chpst", "-l", lock, "echo", "locked"},
		{"chpst", "-b", "renamed", "sh", "-c", "tr '\\0' ' ' < /proc/$$/cmdline; echo"},
		{"chpst", "-u", "no-such-user", "id"},
		{"chpst", "-u", "nobody:no-such-group", "id"},
		{"chpst", "-e", "/nonexistent", "true"},
		{"chpst", "-l", "/nonexistent/lock", "true"},
		{"chpst", "-m", "lots", "true"},
		{"chpst", "-n", "x", "true"},
		{"chpst", "-Z", "true"},
		{"chpst"},
		{"chpst", "/nonexistent/program"},
	}
	for _, c := range cases {
		real, realCode := tool(t, c...)
		ours, ourCode := tool(t, append([]string{"svinit"}, c...)...)
		real = strings.ReplaceAll(real, "/usr/bin/", "")
		require.Equal(t, real, ours, "output of %v", c)
		require.Equal(t, realCode, ourCode, "exit code of %v", c)
	}
}

//go:build system

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// chainCaller runs its arguments as a caller that set things the Go runtime
// changes in itself at start-up: a soft open-file limit of 1024 under the
// hard one, SIGHUP, SIGPIPE and SIGTERM ignored, SIGINT, SIGQUIT and SIGUSR1
// blocked. A chain-loader must hand all of them on as they are.
const chainCaller = `ulimit -Sn 1024 && trap '' HUP PIPE TERM && exec perl -MPOSIX -e '
	sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGINT, SIGQUIT, SIGUSR1)) or die "sigprocmask: $!";
	exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!";' "$@"`

// chainRun runs argv under chainCaller: its output (stdout and stderr) and
// exit code.
func chainRun(t *testing.T, argv ...string) (string, int) {
	t.Helper()
	out, code, err := combined(exec.Command("sh", append([]string{"-c", chainCaller, "sh"}, argv...)...))
	require.NoError(t, err, "running %v", argv)
	return out, code
}

// probe shows what a program started with: its signal mask, its ignored
// signals and its open-file limit.
var probe = []string{"grep", "-h", "-E", "^(SigBlk|SigIgn|Max open files)", "/proc/self/status", "/proc/self/limits"}

// The caller chainRun makes is the one asked for, or the chain-loader test
// would show nothing: soft nofile 1024 below the hard limit, the signals
// ignored and blocked.
func TestChainCaller(t *testing.T) {
	out, code := chainRun(t, probe...)
	require.Zero(t, code, out)
	fields := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, _ := strings.Cut(line, ":")
		if strings.HasPrefix(line, "Max open files") {
			name, value = "nofile", strings.TrimPrefix(line, "Max open files")
		}
		fields[name] = strings.Fields(value)
	}
	require.Len(t, fields["nofile"], 3, out)
	require.Equal(t, "1024", fields["nofile"][0], out)
	hard, err := strconv.Atoi(fields["nofile"][1])
	require.NoError(t, err, out)
	require.Greater(t, hard, 1025, "the hard nofile limit must leave the Go runtime room to raise the soft one")
	bits := func(name string) uint64 {
		require.Len(t, fields[name], 1, out)
		v, err := strconv.ParseUint(fields[name][0], 16, 64)
		require.NoError(t, err, out)
		return v
	}
	sig := func(s ...int) (m uint64) {
		for _, n := range s {
			m |= 1 << (n - 1)
		}
		return m
	}
	require.Equal(t, sig(1, 13, 15), bits("SigIgn")&sig(1, 13, 15), out)
	require.Equal(t, sig(2, 3, 10), bits("SigBlk")&sig(2, 3, 10), out)
}

// Each chain-loader against the real daemontools or runit tool on the same
// input: the same output (ids, limits seen in /proc/self/status and
// /proc/self/limits, environment, signal mask and ignored signals) and the
// same exit code, bad input included; both as "svinit NAME" and through a
// link named NAME. All run under chainCaller, so what the Go runtime changes
// in svinit at start-up (the soft open-file limit, the signal mask, the
// signals it catches) shows if it reaches the program.
func TestChainLoadersMatchDebian(t *testing.T) {
	links := t.TempDir()
	for _, name := range []string{"setuidgid", "envuidgid", "envdir", "softlimit", "pgrphack", "chpst"} {
		require.NoError(t, os.Symlink(svinit, filepath.Join(links, name)))
	}
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
	require.NoError(t, os.WriteFile(filepath.Join(badEnv, "A"), []byte("in a dir with a subdirectory\n"), 0o644))
	require.NoError(t, os.Symlink("/nonexistent", filepath.Join(badEnv, "DANGLING")))
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
		append([]string{"setuidgid", "nobody"}, probe...),
		append([]string{"envuidgid", "nobody"}, probe...),
		append([]string{"envdir", env}, probe...),
		append([]string{"softlimit", "-m", "100000000"}, probe...),
		append([]string{"softlimit", "-o", "50"}, probe...),
		append([]string{"softlimit", "-o", "="}, probe...),
		append([]string{"softlimit", "-p", "100"}, probe...),
		append([]string{"pgrphack"}, probe...),
		append([]string{"chpst"}, probe...),
		append([]string{"chpst", "-u", "nobody", "-e", env, "-P"}, probe...),
		append([]string{"chpst", "-o", "40"}, probe...),
		append([]string{"chpst", "-m", "100000000"}, probe...),
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
		{"chpst", "-e", badEnv, "sh", "-c", show},
		{"chpst", "-v", "-e", badEnv, "sh", "-c", show},
		{"envdir", badEnv, "sh", "-c", show},
		{"chpst", "-l", "/nonexistent/lock", "true"},
		{"chpst", "-m", "lots", "true"},
		{"chpst", "-n", "x", "true"},
		{"chpst", "-Z", "true"},
		{"chpst"},
		{"chpst", "/nonexistent/program"},
	}
	for _, c := range cases {
		real, realCode := chainRun(t, c...)
		real = strings.ReplaceAll(real, "/usr/bin/", "")
		ours, ourCode := chainRun(t, append([]string{svinit}, c...)...)
		require.Equal(t, real, ours, "output of svinit %v", c)
		require.Equal(t, realCode, ourCode, "exit code of svinit %v", c)
		linked, linkedCode := chainRun(t, append([]string{filepath.Join(links, c[0])}, c[1:]...)...)
		require.Equal(t, real, linked, "output of %v through a link", c)
		require.Equal(t, realCode, linkedCode, "exit code of %v through a link", c)
	}
}

package pid1

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestParseArgs(t *testing.T) {
	cfg, err := ParseArgs([]string{"-g", "-e", "143", "--grace", "2s", "--", "java", "-jar", "x"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, []string{"java", "-jar", "x"}, cfg.Argv)
	require.True(t, cfg.Group)
	require.Equal(t, 2*time.Second, cfg.Grace)
	require.Equal(t, 0, cfg.ExitCode(143))
	require.Equal(t, 1, cfg.ExitCode(1))

	cfg, err = ParseArgs([]string{"sleep", "-x"}, env(map[string]string{"SVINIT_GRACE": "1.5"}))
	require.NoError(t, err)
	require.Equal(t, []string{"sleep", "-x"}, cfg.Argv, "options after the command are its own")
	require.Equal(t, 1500*time.Millisecond, cfg.Grace)

	cfg, err = ParseArgs(nil, env(nil))
	require.NoError(t, err)
	require.Equal(t, DefaultGrace, cfg.Grace)
	require.Equal(t, "/service", cfg.ServiceDir, "no command: supervise /service")

	cfg, err = ParseArgs([]string{"--rescan", "0"}, env(map[string]string{"SVINIT_SERVICE_DIR": "/srv"}))
	require.NoError(t, err)
	require.Equal(t, "/srv", cfg.ServiceDir)
	require.Zero(t, cfg.Rescan)
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{{"-e", "256", "x"}, {"-e", "abc", "x"}, {"--grace", "-1s", "x"}, {"-q"}} {
		_, err := ParseArgs(args, env(nil))
		require.Error(t, err, args)
	}
	_, err := ParseArgs([]string{"x"}, env(map[string]string{"SVINIT_GRACE": "later"}))
	require.ErrorContains(t, err, `SVINIT_GRACE: not a duration: "later"`)
	_, err = ParseArgs([]string{"-h"}, env(nil))
	require.ErrorIs(t, err, ErrHelp)
}

func TestForwardable(t *testing.T) {
	for _, s := range []unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1,
		unix.SIGUSR2, unix.SIGWINCH, unix.SIGALRM, unix.SIGCONT, unix.SIGTSTP, unix.SIGPWR, unix.Signal(64)} {
		require.True(t, Forwardable(s), s.String())
	}
	for _, s := range []unix.Signal{unix.SIGCHLD, unix.SIGURG, unix.SIGTTIN, unix.SIGTTOU, unix.SIGKILL,
		unix.SIGSTOP, unix.SIGPROF, unix.Signal(32), unix.Signal(34), unix.Signal(0), unix.Signal(65)} {
		require.False(t, Forwardable(s), s.String())
	}
}

func TestParentOf(t *testing.T) {
	ppid, ok := parentOf(unix.Getpid())
	require.True(t, ok)
	require.Equal(t, unix.Getppid(), ppid)
	_, ok = parentOf(-5)
	require.False(t, ok)
}

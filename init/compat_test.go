package pid1

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func lookupEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// glibc's getopt: options after the program are tini's own unless "--" or
// POSIXLY_CORRECT; clusters and attached values.
func TestTiniArgs(t *testing.T) {
	var out, errb bytes.Buffer
	cfg, _, err := ParseTini([]string{"tini", "-vvs", "-e3", "-e", "4", "-g", "prog", "-w", "arg"}, lookupEnv(nil), &out, &errb)
	require.NoError(t, err)
	require.Equal(t, []string{"prog", "arg"}, cfg.Argv)
	require.Equal(t, 3, cfg.Verbosity)
	require.True(t, cfg.Subreaper && cfg.Group && cfg.WarnReap)
	require.Equal(t, map[int]bool{3: true, 4: true}, cfg.ZeroCodes)

	cfg, _, err = ParseTini([]string{"tini", "--", "prog", "-w"}, lookupEnv(nil), &out, &errb)
	require.NoError(t, err)
	require.Equal(t, []string{"prog", "-w"}, cfg.Argv)
	require.False(t, cfg.WarnReap)

	cfg, _, err = ParseTini([]string{"tini", "prog", "-w"}, lookupEnv(map[string]string{"POSIXLY_CORRECT": ""}), &out, &errb)
	require.NoError(t, err)
	require.Equal(t, []string{"prog", "-w"}, cfg.Argv)

	cfg, _, err = ParseTini([]string{"tini", "prog"}, lookupEnv(map[string]string{"TINI_SUBREAPER": "", "TINI_KILL_PROCESS_GROUP": "", "TINI_VERBOSITY": "3x"}), &out, &errb)
	require.NoError(t, err)
	require.True(t, cfg.Subreaper && cfg.Group)
	require.Equal(t, 3, cfg.Verbosity)

	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"/sbin/tini"}, 1, "", TiniUsage("tini")},
		{[]string{"tini", "-h", "-x"}, 0, TiniUsage("tini"), ""},
		{[]string{"tini", "-x"}, 1, "", "tini: invalid option -- 'x'\n" + TiniUsage("tini")},
		{[]string{"docker-init", "-e"}, 1, "", "docker-init: option requires an argument -- 'e'\n" + TiniUsage("docker-init")},
		{[]string{"tini", "--version"}, 0, TiniVersion + "\n", ""},
		{[]string{"tini", "-l"}, 0, TiniLicense, ""},
		{[]string{"tini", "-e", "256", "x"}, 1, "", "Not a valid option for -e: 256\n"},
		{[]string{"tini", "-p", "TERM", "x"}, 1, "", "Not a valid option for -p: TERM\n"},
	} {
		out.Reset()
		errb.Reset()
		_, code, err := ParseTini(tc.args, lookupEnv(nil), &out, &errb)
		require.ErrorIs(t, err, ErrDone, tc.args)
		require.Equal(t, tc.code, code, tc.args)
		require.Equal(t, tc.stdout, out.String(), tc.args)
		require.Contains(t, errb.String(), tc.stderr, tc.args)
	}
}

func TestDumbInitArgs(t *testing.T) {
	var errb bytes.Buffer
	cfg, _, err := ParseDumbInit([]string{"dumb-init", "-r", "15:2", "--rewrite=1:0", "prog", "-c"}, func(string) string { return "" }, &errb)
	require.NoError(t, err)
	require.Equal(t, []string{"prog", "-c"}, cfg.Argv, "options end at the program ('+')")
	require.True(t, cfg.Setsid)
	require.Equal(t, map[unix.Signal]unix.Signal{unix.SIGTERM: unix.SIGINT, unix.SIGHUP: 0,
		unix.SIGTSTP: unix.SIGSTOP, unix.SIGTTOU: unix.SIGSTOP, unix.SIGTTIN: unix.SIGSTOP}, cfg.Rewrite)

	cfg, _, err = ParseDumbInit([]string{"dumb-init", "--single", "prog"}, func(k string) string {
		return map[string]string{"DUMB_INIT_DEBUG": "1"}[k]
	}, &errb)
	require.NoError(t, err)
	require.False(t, cfg.Setsid)
	require.True(t, cfg.Debug)
	require.Empty(t, cfg.Rewrite, "no STOP rewrites outside setsid mode")

	cfg, _, err = ParseDumbInit([]string{"dumb-init", "prog"}, func(k string) string {
		return map[string]string{"DUMB_INIT_SETSID": "0"}[k]
	}, &errb)
	require.NoError(t, err)
	require.False(t, cfg.Setsid)

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"dumb-init"}, 1, "Usage: dumb-init [option] program [args]\nTry dumb-init --help for full usage.\n"},
		{[]string{"dumb-init", "-V"}, 0, "dumb-init v1.2.5\n"},
		{[]string{"dumb-init", "--help"}, 0, DumbInitHelp("dumb-init")},
		{[]string{"dumb-init", "-x"}, 1, "dumb-init: invalid option -- 'x'\n"},
		{[]string{"dumb-init", "--ver"}, 1, "dumb-init: option '--ver' is ambiguous; possibilities: '--verbose' '--version'\n"},
		{[]string{"dumb-init", "--verbose=1"}, 1, "dumb-init: option '--verbose' doesn't allow an argument\n"},
		{[]string{"dumb-init", "--rewrite"}, 1, "dumb-init: option '--rewrite' requires an argument\n"},
		{[]string{"dumb-init", "-r", "32:1", "x"}, 1, dumbInitRewriteHelp},
		{[]string{"dumb-init", "-r", "15", "x"}, 1, dumbInitRewriteHelp},
	} {
		errb.Reset()
		_, code, err := ParseDumbInit(tc.args, func(string) string { return "" }, &errb)
		require.ErrorIs(t, err, ErrDone, tc.args)
		require.Equal(t, tc.code, code, tc.args)
		require.Equal(t, tc.stderr, errb.String(), tc.args)
	}
}

// tini's and dumb-init's start-ups are their own lists of steps.
func TestCompatSteps(t *testing.T) {
	names := func(s *Single) (n []string) {
		for _, st := range s.Steps {
			n = append(n, st.Name)
		}
		return n
	}
	var b bytes.Buffer
	require.Equal(t, []string{"gomaxprocs", "signals", "pdeathsig", "subreaper", "reaper-check", "reaper", "spawn"},
		names(NewTini(TiniConfig{Argv: []string{"x"}}, &b, &b)))
	require.Equal(t, []string{"gomaxprocs", "signals", "detach-tty", "reaper", "chdir", "spawn"},
		names(NewDumbInit(DumbInitConfig{Argv: []string{"x"}}, &b)))
}

// tini's reaper check warns when not PID 1 and not a subreaper, and not
// when a subreaper; -s registers.
func TestTiniSubreaperSteps(t *testing.T) {
	var out, errb bytes.Buffer
	l := tiniLog{v: 4, out: &out, err: &errb}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0))
	tiniReaperCheck(l)
	require.Contains(t, errb.String(), "Tini is not running as PID 1 and isn't registered as a child subreaper.")
	errb.Reset()
	_, err := tiniSubreaper(true, l)
	require.NoError(t, err)
	require.True(t, isSubreaper())
	require.Contains(t, out.String(), "Registered as child subreaper")
	tiniReaperCheck(l)
	require.Empty(t, errb.String())
}

func TestStrsignal(t *testing.T) {
	require.Equal(t, "Terminated", strsignal(unix.SIGTERM))
	require.Equal(t, "Real-time signal 2", strsignal(36))
	require.Equal(t, "No such file or directory", strerror(unix.ENOENT))
}

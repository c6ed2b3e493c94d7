package s6overlay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSplitCommandLine(t *testing.T) {
	argv, err := splitCommandLine("# a comment\n/etc/s6-overlay/scripts/init-db \"two words\" x\\y \"a\\\"b\"\n\n")
	require.NoError(t, err)
	require.Equal(t, []string{"/etc/s6-overlay/scripts/init-db", "two words", `x\y`, `a"b`}, argv)
	argv, err = splitCommandLine("with-contenv /usr/bin/prepare # trailing\n")
	require.NoError(t, err)
	require.Equal(t, []string{"with-contenv", "/usr/bin/prepare"}, argv)
	for text, want := range map[string]string{
		"":                                 "no command",
		"a\nb\n":                           "2 lines",
		"foreground { echo x } echo y\n":   "execline block",
		"with-contenv importas X X echo\n": "execline's importas",
		"echo \"open\n":                    "not closed",
	} {
		_, err := splitCommandLine(text)
		require.ErrorContains(t, err, want, text)
		require.ErrorContains(t, err, "write one command line", text)
	}
}

func TestReadKnobs(t *testing.T) {
	k, warns := ReadKnobs([]string{"PATH=/bin"})
	require.Equal(t, DefaultKnobs(), k)
	require.Empty(t, warns)

	k, warns = ReadKnobs([]string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=2", "S6_CMD_WAIT_FOR_SERVICES_MAXTIME=1500",
		"S6_SERVICES_GRACETIME=100", "S6_KILL_GRACETIME=200", "S6_KILL_FINISH_MAXTIME=300", "S6_CMD_RECEIVE_SIGNALS=1",
		"S6_READ_ONLY_ROOT=1", "S6_VERBOSITY=3", "S6_KEEP_ENV=1", "S6_CMD_ARG0=/bin/tini --"})
	require.Empty(t, warns)
	require.Equal(t, Knobs{Behaviour: 2, WaitMax: 1500 * time.Millisecond, ServicesGrace: 100 * time.Millisecond,
		KillGrace: 200 * time.Millisecond, FinishMax: 300 * time.Millisecond, ReceiveSignals: true, ReadOnlyRoot: true,
		Verbosity: 3, KeepEnv: true, CmdArg0: []string{"/bin/tini", "--"}, LoggingScript: DefaultLoggingScript}, k)
	require.Equal(t, 900*time.Millisecond, k.Grace(2))

	k, warns = ReadKnobs([]string{"S6_LOGGING=3", "S6_LOGGING_SCRIPT=t n5", "S6_STAGE2_HOOK=/x", "S6_KILL_GRACETIME=soon", "S6_CMD_RECEIVE_SIGNALS=0", "S6_VERBOSITY=1", "S6_NEW=1"})
	require.Equal(t, []string{
		`S6_KILL_GRACETIME="soon" is not a whole number: default 3000 kept`,
		"S6_CMD_RECEIVE_SIGNALS=0 is not honoured: svinit always passes docker stop's TERM to the CMD first, and stops the services once the CMD has exited",
		"S6_VERBOSITY=1 is honoured for cont-init/cont-finish only: svinit's own info lines are still printed",
		"S6_LOGGING=3 is not 0, 1 or 2: 2 taken",
		"S6_NEW is not honoured: svinit does not know this variable",
		"S6_STAGE2_HOOK is not honoured: svinit runs no stage-2 hook (the service database is not compiled at run time)",
	}, warns)
	require.Equal(t, 2, k.Logging)
	require.Equal(t, "t n5", k.LoggingScript)
}

// S6_LOGGING_SCRIPT as s6-log takes it (the stamp anywhere) becomes a
// multilog script (the stamp first), the directory last.
func TestCatchallScript(t *testing.T) {
	got, err := CatchallScript(DefaultLoggingScript, CatchallDir)
	require.NoError(t, err)
	require.Equal(t, []string{"T", "n20", "s1000000", "/run/uncaught-logs"}, got)
	got, err = CatchallScript("  ", "/d")
	require.NoError(t, err)
	require.Equal(t, []string{"/d"}, got)
	_, err = CatchallScript("t n5 T", "/d")
	require.ErrorContains(t, err, `S6_LOGGING_SCRIPT="t n5 T": both t and T`)
}

func TestEnv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "container_environment")
	require.NoError(t, DumpEnv(dir, []string{"A=1", "B=two\nlines\n", "EMPTY=", "PATH=/x:/y", "=bad"}))
	b, err := os.ReadFile(filepath.Join(dir, "B"))
	require.NoError(t, err)
	require.Equal(t, "two\nlines\n", string(b))
	env, err := WithContenv(dir, []string{"PATH=/run", "OTHER=1"})
	require.NoError(t, err)
	require.Equal(t, []string{"A=1", "B=two\nlines\n", "EMPTY=", "PATH=/x:/y"}, env)
	kept := []string{"S6_KEEP_ENV=1", "OTHER=1"}
	env, err = WithContenv(dir, kept)
	require.NoError(t, err)
	require.Equal(t, kept, env)
	v, ok := Printcontenv(dir, nil, "A")
	require.True(t, ok)
	require.Equal(t, "1", v)
	_, ok = Printcontenv(dir, nil, "NOPE")
	require.False(t, ok)
	_, ok = Printcontenv(dir, kept, "A")
	require.False(t, ok, "S6_KEEP_ENV: the process's own environment")
	require.Equal(t, []string{"PATH=/x:/y"}, MinimalEnv([]string{"A=1", "PATH=/x:/y"}))
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
}

func TestBuild(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, SourceDir)
	write(t, filepath.Join(src, "db/type"), "oneshot\n", 0o644)
	write(t, filepath.Join(src, "db/up"), "/usr/local/bin/init-db --fast\n", 0o644)
	write(t, filepath.Join(src, "db/down"), "/usr/local/bin/dump-db\n", 0o644)
	write(t, filepath.Join(src, "db/dependencies.d/base"), "", 0o644)
	write(t, filepath.Join(src, "api/type"), "longrun\n", 0o644)
	write(t, filepath.Join(src, "api/run"), "#!/bin/sh\nexec sleep 100\n", 0o644)
	write(t, filepath.Join(src, "api/notification-fd"), "3\n", 0o644)
	write(t, filepath.Join(src, "api/dependencies.d/backend"), "", 0o644)
	write(t, filepath.Join(src, "backend/type"), "bundle\n", 0o644)
	write(t, filepath.Join(src, "backend/contents.d/db"), "", 0o644)
	write(t, filepath.Join(src, "bad/type"), "oneshot\n", 0o644)
	write(t, filepath.Join(src, "bad/up"), "if { true } echo\n", 0o644)
	write(t, filepath.Join(src, "unused/type"), "longrun\n", 0o644)
	write(t, filepath.Join(src, "unused/run"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(src, "user/contents.d/api"), "", 0o644)
	write(t, filepath.Join(src, "user/contents.d/bad"), "", 0o644)
	write(t, filepath.Join(root, BundleDir, "user/type"), "bundle\n", 0o644)
	write(t, filepath.Join(root, BundleDir, "user/contents.d/ghost"), "", 0o644)
	write(t, filepath.Join(root, ServicesDir, "legacy/run"), "#!/bin/sh\nexec sleep 100\n", 0o755)
	write(t, filepath.Join(root, ContFinDir, "01-a"), "#!/bin/sh\n", 0o755)
	l := Layout{Root: root, Exe: "/init", Knobs: DefaultKnobs(), Environ: []string{"X=1"}}
	res, err := l.Build()
	require.NoError(t, err)
	require.Equal(t, []string{ContInit, "api", "db", "legacy"}, res.Services)
	require.Equal(t, 1, res.FinishScripts)
	require.Len(t, res.Problems, 2)
	require.ErrorContains(t, res.Problems[0], "user-bundles.d/user: names ghost, which is defined nowhere")
	require.ErrorContains(t, res.Problems[1], filepath.Join(src, "bad/up")+": an execline block { ... } needs execlineb")
	live := filepath.Join(root, ServiceDir)
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(live, p))
		require.NoError(t, err)
		return string(b)
	}
	require.Equal(t, ContInit+"\ndb\n", read("api/depends"))
	require.Equal(t, "3\n", read("api/notification-fd"))
	require.Equal(t, "3000\n", read("api/timeout-kill"))
	st, err := os.Stat(filepath.Join(live, "api/run"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "s6-rc's run may be not executable")
	require.NoFileExists(t, filepath.Join(live, "api/type"))
	require.Equal(t, "oneshot\n", read("db/type"))
	require.Contains(t, read("db/run"), "exec '/usr/local/bin/init-db' '--fast'\n")
	require.Contains(t, read("db/undo"), "exec '/usr/local/bin/dump-db'\n")
	require.Equal(t, ContInit+"\n", read("db/depends"))
	require.Equal(t, ContInit+"\napi\ndb\n", read("legacy/depends"))
	require.True(t, strings.HasPrefix(read(ContInit+"/run"), "#!/init --s6-overlay-stage\ncont-init 0 2 5000 0 "+root+"\n"), read(ContInit+"/run"))
	require.True(t, strings.HasPrefix(read(ContInit+"/undo"), "#!/init --s6-overlay-stage\ncont-finish 0 2 5000 0 "+root+"\n"), read(ContInit+"/undo"))
	require.NoFileExists(t, filepath.Join(live, ContInit, "essential"))
	b, err := os.ReadFile(filepath.Join(root, ContEnvDir, "X"))
	require.NoError(t, err)
	require.Equal(t, "1", string(b))

	l.Knobs.Behaviour = 2
	_, err = l.Build()
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(live, ContInit, "essential"))
	require.FileExists(t, filepath.Join(live, "db", "essential"))
}

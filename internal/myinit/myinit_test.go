package myinit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	o, err := Parse([]string{"--skip-startup-files", "--skip-runit", "--no-kill-all-on-exit", "--quiet", "--enable-insecure-key", "--", "ls", "-l"})
	require.NoError(t, err)
	require.Equal(t, Options{EnableInsecureKey: true, SkipStartupFiles: true, SkipRunit: true, NoKillAll: true, Quiet: true, Argv: []string{"ls", "-l"}}, o)

	o, err = Parse([]string{"--quiet", "bash", "-c", "x"})
	require.NoError(t, err)
	require.Equal(t, []string{"bash", "-c", "x"}, o.Argv)

	o, err = Parse([]string{"--skip-r", "true"}) // argparse's unique prefix
	require.NoError(t, err)
	require.True(t, o.SkipRunit)
	_, err = Parse([]string{"--skip-runit"})
	require.ErrorIs(t, err, ErrSkipRunitAlone)
	_, err = Parse([]string{"--skip-runit", "--"})
	require.ErrorIs(t, err, ErrSkipRunitAlone)

	_, err = Parse([]string{"--skip"})
	require.ErrorContains(t, err, "ambiguous option: --skip could match --skip-runit, --skip-startup-files")
	_, err = Parse([]string{"--nope"})
	require.EqualError(t, err, "unrecognized arguments: --nope")
	_, err = Parse([]string{"-x"})
	require.EqualError(t, err, "unrecognized arguments: -x")
	_, err = Parse([]string{"-h"})
	require.ErrorIs(t, err, ErrHelp)
}

func TestTimeouts(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	tm, err := ParseTimeouts(get)
	require.NoError(t, err)
	_, ok := tm.Grace()
	require.False(t, ok)
	env["KILL_PROCESS_TIMEOUT"] = "3"
	tm, err = ParseTimeouts(get)
	require.NoError(t, err)
	g, ok := tm.Grace()
	require.True(t, ok)
	require.Equal(t, 3, g)
	env["KILL_ALL_PROCESSES_TIMEOUT"] = "2"
	tm, _ = ParseTimeouts(get)
	g, _ = tm.Grace()
	require.Equal(t, 5, g)
	env["KILL_ALL_PROCESSES_TIMEOUT"] = "x"
	_, err = ParseTimeouts(get)
	require.ErrorContains(t, err, `KILL_ALL_PROCESSES_TIMEOUT: not a number of seconds: "x"`)
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":            "''",
		"/usr/bin:/x": "/usr/bin:/x",
		"a b":         "'a b'",
		"it's":        `'it'"'"'s'`,
		"$HOME":       "'$HOME'",
		"a=b,c@d%e+f": "a=b,c@d%e+f",
	} {
		require.Equal(t, want, ShellQuote(in), in)
	}
	require.Equal(t, "MY_VAR_", ShellName("MY-VAR."))
}

func TestJSON(t *testing.T) {
	e := ParseEnv([]string{"B=2", "A=\x7f\u00e9\U0001F600\x01\"\\\n", "C=\xff"})
	require.Equal(t, `{"A": "\u007f\u00e9\ud83d\ude00\u0001\"\\\n", "B": "2", "C": "\udcff"}`, e.JSON())
}

func TestExportImport(t *testing.T) {
	l := Layout{Root: t.TempDir()}
	e := ParseEnv([]string{"PATH=/bin", "HOME=/root", "MSG=it's", "SHELL=/bin/sh"})
	// No directory: nothing written.
	require.NoError(t, l.Export(e, true))
	require.NoFileExists(t, l.EnvDir()+".sh")

	require.NoError(t, os.MkdirAll(l.EnvDir(), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(l.EnvDir(), "PATH"), []byte("/image\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(l.EnvDir(), "INITRD"), []byte("no"), 0o644))
	e, err := l.Import(e, false, false)
	require.NoError(t, err)
	require.NoError(t, l.Export(e, true))
	read := func(p string) string { b, err := os.ReadFile(p); require.NoError(t, err); return string(b) }
	require.Equal(t, "/bin", read(filepath.Join(l.EnvDir(), "PATH")), "the container's variable wins at start")
	require.Equal(t, "it's", read(filepath.Join(l.EnvDir(), "MSG")))
	require.NoFileExists(t, filepath.Join(l.EnvDir(), "HOME"))
	require.Equal(t, "export INITRD=no\nexport MSG='it'\"'\"'s'\nexport PATH=/bin\n", read(l.EnvDir()+".sh"))
	require.Equal(t, `{"HOME": "/root", "INITRD": "no", "MSG": "it's", "PATH": "/bin", "SHELL": "/bin/sh"}`, read(l.EnvDir()+".json"))

	// After a start-up file: the directory alone, files win.
	require.NoError(t, os.WriteFile(filepath.Join(l.EnvDir(), "NEW"), []byte("v\n\n"), 0o644))
	e, err = l.Import(e, true, true)
	require.NoError(t, err)
	require.Equal(t, []string{"INITRD=no", "MSG=it's", "NEW=v\n", "PATH=/bin"}, e.Environ())
}

func TestStartupFiles(t *testing.T) {
	l := Layout{Root: t.TempDir()}
	require.NoError(t, os.MkdirAll(l.InitDir(), 0o755))
	for name, mode := range map[string]os.FileMode{"20_b": 0o755, "10_a": 0o755, "15_noexec": 0o644} {
		require.NoError(t, os.WriteFile(filepath.Join(l.InitDir(), name), nil, mode))
	}
	require.NoError(t, os.Mkdir(filepath.Join(l.InitDir(), "05_dir"), 0o755))
	require.NoError(t, os.WriteFile(l.RcLocal(), nil, 0o755))
	b := &Boot{Layout: l}
	files, err := b.startupFiles()
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(l.InitDir(), "10_a"), filepath.Join(l.InitDir(), "20_b"), l.RcLocal()}, files)
}

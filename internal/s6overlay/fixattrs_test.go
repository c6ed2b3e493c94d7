package s6overlay

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// s6-overlay's README table of accounts (daemon is uid 1, gid 1 on Debian;
// no user or group is named 2, 11111 or unexisting).
func TestFixAccount(t *testing.T) {
	for entry, want := range map[string][2]int{
		"daemon":                 {1, 1},
		"daemon,3:4":             {1, 1},
		"2:2,3:4":                {2, 2},
		"daemon:11111,3:4":       {1, 11111},
		"daemon:unexisting,3:4":  {1, 4},
		"unexisting:daemon,3:4":  {3, 1},
		"11111:11111,3:4":        {11111, 11111},
		"11111:11111":            {11111, 11111},
		"unexisting,3:4":         {3, 4},
		"nobody,32768:32768":     {65534, 65534},
		"unexisting,3:4:5,6":     {3, 4},
		"daemon:unexisting,3:4:": {1, 4},
	} {
		uid, gid, err := fixAccount(entry)
		require.NoError(t, err, entry)
		require.Equal(t, want, [2]int{uid, gid}, entry)
	}
	for entry, msg := range map[string]string{
		"unexisting":            "unknown user unexisting",
		"1000":                  "unknown user 1000 (numeric ids are written uid:gid",
		"daemon:unexisting":     "unknown group unexisting",
		"unexisting:daemon":     "unknown user unexisting",
		":daemon":               "no user given and no default",
		"daemon,x:4":            `the default after the comma is "x:4", not uid:gid`,
		"daemon,3":              `the default after the comma is "3", not uid:gid`,
		"unexisting:daemon,3:y": `the default after the comma is "3:y"`,
	} {
		_, _, err := fixAccount(entry)
		require.ErrorContains(t, err, msg, entry)
	}
}

func TestParseFixLine(t *testing.T) {
	l, err := parseFixLine([]string{"/var/lib/*", "true", "daemon", "0600", "2750"})
	require.NoError(t, err)
	require.Equal(t, fixLine{glob: "/var/lib/*", recurse: true, uid: 1, gid: 1, fmode: 0o600, dmode: 0o750 | os.ModeSetgid}, l)
	for line, msg := range map[string]string{
		"/x true daemon 0644":            "4 fields, not 5",
		"/x true daemon 0644 0755 extra": "6 fields, not 5",
		"/x yes daemon 0644 0755":        `recurse is "yes", not true or false`,
		"/x true daemon 0648 0755":       `fmode is "0648", not an octal mode`,
		"/x true daemon 0644 17777":      `dmode is "17777", not an octal mode`,
		"/x true ghost 0644 0755":        "unknown user ghost",
	} {
		_, err := parseFixLine(strings.Fields(line))
		require.ErrorContains(t, err, msg, line)
	}
}

// owner is a path's uid, gid and mode (the link itself for a link).
func owner(t *testing.T, p string) (int, int, os.FileMode) {
	t.Helper()
	st, err := os.Lstat(p)
	require.NoError(t, err)
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid), st.Mode()
}

// A tree: data/ with a file, a subdirectory with a file, a dot file, a
// dot directory, and a link to a file outside.
func fixTree(t *testing.T) string {
	root := t.TempDir()
	outside := filepath.Join(root, "outside")
	write(t, outside, "x", 0o644)
	write(t, filepath.Join(root, "data/a"), "a", 0o644)
	write(t, filepath.Join(root, "data/sub/b"), "b", 0o644)
	write(t, filepath.Join(root, "data/.hidden"), "h", 0o644)
	write(t, filepath.Join(root, "data/.dot/c"), "c", 0o644)
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "data/link")))
	return root
}

func TestFixAttrsApply(t *testing.T) {
	root := fixTree(t)
	dir := filepath.Join(root, "fix-attrs.d")
	data := filepath.Join(root, "data")
	write(t, filepath.Join(dir, "01-data"), "# a comment\n\n"+data+" true daemon:bin,3:4 0600 2750\n", 0o644)
	write(t, filepath.Join(dir, "02-one"), data+"/sub/b false 11111:11111 0640 0700\n", 0o644)
	var out bytes.Buffer
	require.False(t, FixAttrs(dir, false, 2, &out))
	require.Equal(t, "fix-attrs: info: applying "+filepath.Join(dir, "01-data")+"\n"+
		"fix-attrs: info: applying "+filepath.Join(dir, "02-one")+"\n"+
		"fix-attrs: warning: fix-attrs is deprecated, please fix volume permissions in your container manager instead\n", out.String())
	for p, want := range map[string][3]any{
		"data":         {1, 2, os.ModeDir | os.ModeSetgid | 0o750},
		"data/a":       {1, 2, os.FileMode(0o600)},
		"data/sub":     {1, 2, os.ModeDir | os.ModeSetgid | 0o750},
		"data/sub/b":   {11111, 11111, os.FileMode(0o640)},
		"data/.dot/c":  {0, 0, os.FileMode(0o644)}, // dot files left out
		"data/.hidden": {0, 0, os.FileMode(0o644)},
		"outside":      {0, 0, os.FileMode(0o644)}, // the link is not followed
	} {
		uid, gid, mode := owner(t, filepath.Join(root, p))
		require.Equal(t, want, [3]any{uid, gid, mode}, p)
	}
	uid, gid, _ := owner(t, filepath.Join(data, "link"))
	require.Equal(t, [2]int{1, 2}, [2]int{uid, gid}, "the link itself changes owner")

	// S6_FIX_ATTRS_HIDDEN: the dot files too; a glob; quiet at verbosity 0.
	out.Reset()
	write(t, filepath.Join(dir, "01-data"), data+"/.* true bin 0604 0705\n", 0o644)
	require.NoError(t, os.Remove(filepath.Join(dir, "02-one")))
	require.False(t, FixAttrs(dir, true, 0, &out))
	require.Empty(t, out.String())
	for p, mode := range map[string]os.FileMode{"data/.hidden": 0o604, "data/.dot": os.ModeDir | 0o705, "data/.dot/c": 0o604} {
		uid, gid, m := owner(t, filepath.Join(root, p))
		require.Equal(t, [3]any{2, 2, mode}, [3]any{uid, gid, m}, p)
	}
}

// A bad line: an error naming the file and the line, nothing of that file
// applied, the other files are. A line that cannot be applied stops its
// file there, naming the path.
func TestFixAttrsErrors(t *testing.T) {
	root := fixTree(t)
	dir := filepath.Join(root, "fix-attrs.d")
	data := filepath.Join(root, "data")
	bad := filepath.Join(dir, "01-bad")
	write(t, bad, data+"/a false daemon 0600 0700\n"+data+"/sub true daemon 644 0700 oops\n", 0o644)
	missing := filepath.Join(dir, "02-missing")
	write(t, missing, data+"/nothing-here false daemon 0600 0700\n"+data+"/sub/b false daemon 0600 0700\n", 0o644)
	write(t, filepath.Join(dir, "03-good"), data+"/.hidden false daemon 0600 0700\n", 0o644)
	var out bytes.Buffer
	require.True(t, FixAttrs(dir, false, 1, &out))
	require.Equal(t,
		"fix-attrs: error: "+bad+" line 2: 6 fields, not 5 (a line is: path recurse account fmode dmode, e.g. /var/lib/mysql true mysql,999:999 0600 0700): nothing of "+bad+" applied\n"+
			"fix-attrs: error: "+missing+" line 1: unable to stat "+data+"/nothing-here: file does not exist: the rest of "+missing+" not applied\n"+
			"fix-attrs: warning: fix-attrs is deprecated, please fix volume permissions in your container manager instead\n", out.String())
	_, _, mode := owner(t, filepath.Join(data, "a"))
	require.Equal(t, os.FileMode(0o644), mode, "nothing of the bad file applied")
	uid, _, _ := owner(t, filepath.Join(data, "sub/b"))
	require.Equal(t, 0, uid, "the rest of the file after the failed line not applied")
	uid, _, mode = owner(t, filepath.Join(data, ".hidden"))
	require.Equal(t, [2]any{1, os.FileMode(0o600)}, [2]any{uid, mode}, "the good file applied")
}

// The cont-init stage runs fix-attrs.d first; with S6_BEHAVIOUR_IF_STAGE2_FAILS
// 2 a failed file stops it before any cont-init script, with 0 the scripts run.
func TestStageFixAttrs(t *testing.T) {
	root := t.TempDir()
	mark := filepath.Join(root, "ran")
	write(t, filepath.Join(root, ContInitDir, "10-a"), "#!/bin/sh\necho ran >> "+mark+"\n", 0o755)
	write(t, filepath.Join(root, FixAttrsDir, "01"), "/nonexistent/path false daemon 0600 0700\n", 0o644)
	var out bytes.Buffer
	require.Equal(t, 1, Stage([]string{"cont-init", "2", "1", "0", "0", root}, &out))
	require.Contains(t, out.String(), "fix-attrs: error: "+filepath.Join(root, FixAttrsDir, "01")+" line 1: unable to stat /nonexistent/path")
	require.Contains(t, out.String(), "fix-attrs: warning: some fix files failed to apply\n")
	require.NoFileExists(t, mark, "no cont-init script after a failed fix-attrs with 2")
	out.Reset()
	require.Equal(t, 0, Stage([]string{"cont-init", "0", "1", "0", "0", root}, &out))
	require.FileExists(t, mark, "with 0, cont-init goes on")
	require.NotContains(t, out.String(), "some fix files failed")
	require.Equal(t, 100, Stage([]string{"cont-init", "0", "1", "0", root}, &out), "the old five arguments")

	// As a script's interpreter: the arguments on the script's second line.
	require.NoError(t, os.Remove(mark))
	l := Layout{Root: root, Exe: "/init", Knobs: DefaultKnobs()}
	require.NoError(t, l.writeContInit())
	run := filepath.Join(root, ServiceDir, ContInit, "run")
	out.Reset()
	require.Equal(t, 0, Stage([]string{run, ContInit}, &out), out.String())
	require.FileExists(t, mark)
	require.Contains(t, out.String(), "fix-attrs: error: ")
	require.Equal(t, 111, Stage([]string{filepath.Join(root, "nonexistent")}, &out))
}

//go:build system

package test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/svinit/svinit/internal/testkit"
)

// longLines is multilog's input for TestMultilogLongLines: lines of 1, 999,
// 1,000, 1,001, 4,000 and 100,000 bytes, some with ERROR in their first
// 1,000 bytes, some only further on, and a last line without its newline.
func longLines() string {
	var in strings.Builder
	line := func(n int, errorAt int) {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
		}
		copy(b, fmt.Sprintf("%d:", n))
		if errorAt >= 0 {
			copy(b[errorAt:], "ERROR")
		}
		in.Write(b)
	}
	for _, c := range []struct{ n, errorAt int }{
		{1, -1}, {999, -1}, {1000, -1}, {1001, -1}, {4000, -1}, {100000, -1},
		{199, -1}, {200, -1}, {201, -1},
		{300, 10},      // ERROR at the start: selected
		{1001, 990},    // ERROR in the first 1,000 bytes, but not after a stamp's 26
		{4000, 2000},   // ERROR past the first 1,000 bytes: not seen
		{100000, 5000}, // idem
		{999, 900},
		{100000, 100},
	} {
		line(c.n, c.errorAt)
		in.WriteByte('\n')
	}
	in.WriteString("\n")
	line(3000, 20) // no newline at the end
	return in.String()
}

var tai64n = regexp.MustCompile(`@4000[0-9a-f]{20}`)

// stamp replaces TAI64N stamps: the same length.
const stamp = "@4000xxxxxxxxxxxxxxxxxxxx"

// requireSame fails where want (Debian's) and got (svinit's) first differ,
// without printing megabytes.
func requireSame(t *testing.T, want, got, what string) {
	t.Helper()
	if want == got {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	around := func(s string) string { return s[max(0, i-40):min(len(s), i+40)] }
	require.Failf(t, what+" differs", "want %d bytes, got %d; first difference at byte %d:\nwant: %q\ngot:  %q",
		len(want), len(got), i, around(want), around(got))
}

// multilogRun runs multilog (Debian's, or svinit's) with args in a new
// directory and returns that directory and what it printed on stderr,
// TAI64N stamps replaced by a fixed one.
func multilogRun(t *testing.T, prog, in string, args ...string) (string, string) {
	dir := t.TempDir()
	argv := append([]string{"multilog"}, args...)
	if prog == "svinit" {
		argv = append([]string{svinit, "multilog"}, args...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "%s %v: %s", prog, args, stderr.String())
	return dir, tai64n.ReplaceAllLiteralString(stderr.String(), stamp)
}

// readStamped reads a file, TAI64N stamps replaced by a fixed one.
func readStamped(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return tai64n.ReplaceAllLiteralString(string(b), stamp)
}

// Lines of any length are kept whole, as Debian's multilog keeps them: the
// stamp at the start, the patterns and e on the first 1,000 bytes (e adds
// "..." past 200), =file gets the first 1,000 bytes; byte for byte the same
// as Debian's multilog on the same input.
func TestMultilogLongLines(t *testing.T) {
	in := longLines()
	for _, script := range [][]string{
		{"e", "./log"},
		{"t", "e", "./log"},
		{"-*", "+*ERROR*", "e", "=status", "./log"},
		{"t", "-*", "+*ERROR*", "e", "=status", "./log", "+*", "-*ERROR*", "./other", "=status2"},
	} {
		t.Run(strings.Join(script, " "), func(t *testing.T) {
			realDir, realErr := multilogRun(t, "multilog", in, script...)
			ourDir, ourErr := multilogRun(t, "svinit", in, script...)
			requireSame(t, realErr, ourErr, "stderr")
			for _, a := range script {
				switch a[0] {
				case '.':
					real := readStamped(t, filepath.Join(realDir, a, "current"))
					ours := readStamped(t, filepath.Join(ourDir, a, "current"))
					require.NotEmpty(t, ours, a)
					requireSame(t, real, ours, a+"/current")
				case '=':
					real := readStamped(t, filepath.Join(realDir, a[1:]))
					ours := readStamped(t, filepath.Join(ourDir, a[1:]))
					require.Len(t, ours, 1001, a)
					requireSame(t, real, ours, a)
				}
			}
		})
	}
}

// A line longer than the size goes on in the next file, as in Debian's
// multilog: no byte is lost, no file is over the size. (Where lines end in
// the last 2,000 bytes of a file, Debian's rotates at the last newline of
// what it read, svinit's before a line that would not fit: the files of the
// two differ there, by design.)
func TestMultilogLongLinesRotate(t *testing.T) {
	// One line of 100,000 bytes: both cut it in the same places.
	one := strings.Repeat("0123456789", 10000) + "\n"
	realDir, _ := multilogRun(t, "multilog", one, "s4096", "n1000", "./log")
	ourDir, _ := multilogRun(t, "svinit", one, "s4096", "n1000", "./log")
	realOld, _ := filepath.Glob(filepath.Join(realDir, "log", "@*.s"))
	ourOld, _ := filepath.Glob(filepath.Join(ourDir, "log", "@*.s"))
	require.Len(t, realOld, len(one)/4096)
	require.Len(t, ourOld, len(realOld))
	requireSame(t, readStamped(t, filepath.Join(realDir, "log", "current")), readStamped(t, filepath.Join(ourDir, "log", "current")), "current")

	in := longLines()
	for _, prog := range []string{"multilog", "svinit"} {
		dir, _ := multilogRun(t, prog, in, "s4096", "n1000", "./log")
		entries, err := os.ReadDir(filepath.Join(dir, "log"))
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "@") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		names = append(names, "current")
		var all strings.Builder
		split := 0
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, "log", n))
			require.NoError(t, err)
			require.LessOrEqual(t, len(b), 4096, "%s: %s", prog, n)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				split++
			}
			all.Write(b)
		}
		requireSame(t, in+"\n", all.String(), prog+": every byte, in order")
		require.Greater(t, split, 40, "%s: lines of 100,000 bytes are split across files", prog)
	}
}

// multilogStart starts multilog (Debian's, or svinit's) with args in a new
// directory, its input a pipe. It returns the directory, the process, the
// pipe's write end, and its read end, kept open here to read what multilog
// leaves in it.
func multilogStart(t *testing.T, prog string, args ...string) (string, *exec.Cmd, *os.File, *os.File) {
	dir := t.TempDir()
	argv := append([]string{"multilog"}, args...)
	if prog == "svinit" {
		argv = append([]string{svinit, "multilog"}, args...)
	}
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin = r
	cmd.Stderr = &testkit.SyncBuffer{}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		w.Close()
		r.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return dir, cmd, w, r
}

// waitReading waits until a thread of pid is blocked in read(2) on its
// standard input, for count bytes (0: any count). Debian's multilog
// blocks ALRM and TERM but in read(2): one that comes while it works is
// acted on only after its next read returns, when more input comes. So
// the tests signal it when it waits in read(2), as a log service's
// multilog does almost all the time.
func waitReading(t *testing.T, pid, count int) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		require.NoError(c, err)
		reading := false
		for _, task := range tasks {
			b, _ := os.ReadFile(task)
			f := strings.Fields(string(b))
			if len(f) > 3 && f[0] == fmt.Sprint(unix.SYS_READ) && f[1] == "0x0" && (count == 0 || f[3] == fmt.Sprintf("%#x", count)) {
				reading = true
			}
		}
		require.True(c, reading, "pid %d in read(0, buf, %d)", pid, count)
	}, 10*time.Second, 5*time.Millisecond)
}

// logDirList lists a log directory: each file's name (TAI64N stamps
// replaced), mode and contents, in name order (old files oldest first).
func logDirList(t require.TestingT, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var list []string
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		list = append(list, fmt.Sprintf("%s %v %q", tai64n.ReplaceAllLiteralString(e.Name(), stamp), fi.Mode(), b))
	}
	return list
}

// ALRM: multilog rotates a non-empty current at once (svc -a on a log
// service), as a full one: the same old files (mode 0744, nNUM applied)
// and the same current as Debian's multilog; an empty current stays.
func TestMultilogAlarm(t *testing.T) {
	lists := map[string][]string{}
	for _, prog := range []string{"multilog", "svinit"} {
		dir, cmd, w, _ := multilogStart(t, prog, "n3", "./log", "-*", "./none")
		log := filepath.Join(dir, "log")
		alarm := func() {
			if prog == "multilog" {
				waitReading(t, cmd.Process.Pid, 0)
			}
			require.NoError(t, cmd.Process.Signal(unix.SIGALRM))
		}
		// want is log's listing: the old files, an empty current, lock, state.
		want := func(old ...string) []string {
			var list []string
			for _, o := range old {
				list = append(list, fmt.Sprintf("%s.s -rwxr--r-- %q", stamp, o))
			}
			return append(list, `current -rw-r--r-- ""`, `lock -rw------- ""`, `state -rw-r--r-- ""`)
		}
		for _, step := range []struct {
			in  string
			old []string
		}{
			{"one\ntwo\n", []string{"one\ntwo\n"}},
			{"three\n", []string{"one\ntwo\n", "three\n"}},
			{"four\nfive\n", []string{"three\n", "four\nfive\n"}}, // n3: two old files
		} {
			_, err := w.WriteString(step.in)
			require.NoError(t, err)
			requireFile(t, filepath.Join(log, "current"), step.in)
			alarm()
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				require.Equal(c, want(step.old...), logDirList(c, log))
			}, 10*time.Second, 10*time.Millisecond, "%s: after ALRM", prog)
		}
		// current is empty: nothing to rotate. (No input after it: if
		// some came at once, it could be read before the signal is taken.)
		alarm()
		require.NoError(t, w.Close())
		require.NoError(t, cmd.Wait(), "%s: %s", prog, cmd.Stderr)
		require.Equal(t, want("three\n", "four\nfive\n")[:2], logDirList(t, log)[:2], "%s: the empty current is not rotated", prog)
		lists[prog] = append(logDirList(t, log), logDirList(t, filepath.Join(dir, "none"))...)
	}
	require.Equal(t, lists["multilog"], lists["svinit"])
}

// requireFile waits until path holds want.
func requireFile(t *testing.T, path, want string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		b, err := os.ReadFile(path)
		require.NoError(c, err)
		require.Equal(c, want, string(b))
	}, 10*time.Second, 10*time.Millisecond)
}

// TERM: multilog reads on to the end of the line it is in, writes
// everything out and exits 0, leaving its input at the first byte it has
// not processed; between lines, at once. The same exit code, current and
// input left as Debian's multilog's.
func TestMultilogTerm(t *testing.T) {
	type result struct {
		code          int
		current, rest string
	}
	term := func(prog, before, after string) result {
		dir, cmd, w, r := multilogStart(t, prog, "./log")
		_, err := w.WriteString(before)
		require.NoError(t, err)
		requireFile(t, filepath.Join(dir, "log", "current"), before[:strings.LastIndexByte(before, '\n')+1])
		if prog == "multilog" {
			waitReading(t, cmd.Process.Pid, 0)
		}
		require.NoError(t, cmd.Process.Signal(unix.SIGTERM))
		if strings.HasSuffix(before, "\n") {
			_ = cmd.Wait() // at once: after it, nothing more is read
		} else {
			// TERM taken: the rest of the line is read a byte at a time.
			waitReading(t, cmd.Process.Pid, 1)
		}
		_, err = w.WriteString(after)
		require.NoError(t, err)
		if cmd.ProcessState == nil {
			_ = cmd.Wait()
		}
		require.NoError(t, w.Close())
		rest, err := io.ReadAll(r)
		require.NoError(t, err)
		return result{cmd.ProcessState.ExitCode(), readStamped(t, filepath.Join(dir, "log", "current")), string(rest)}
	}
	for _, c := range []struct {
		before, after string
		want          result
	}{
		{"one\ntwo", "three\nfour\n", result{0, "one\ntwothree\n", "four\n"}},
		{"one\n", "two\n", result{0, "one\n", "two\n"}},
	} {
		real := term("multilog", c.before, c.after)
		require.Equal(t, c.want, real, "Debian's multilog")
		ours := term("svinit", c.before, c.after)
		require.Equal(t, real, ours)
	}
}

// Under svinit: svc -a on a log service rotates its current; svc -d (TERM)
// ends multilog at a line's end and svc -u starts another on the same
// pipe: the talker's lines are all there, whole, in order.
func TestMultilogSignalsUnderSvinit(t *testing.T) {
	logs := filepath.Join(t.TempDir(), "main")
	root := makeTree(t, map[string]files{
		"talker": {
			"run":     sh("i=0; while :; do i=$((i+1)); echo \"line $i\"; sleep 0.005; done"),
			"log/run": sh("exec " + svinit + " multilog n100 " + logs),
		},
	})
	startTree(t, root)
	talker, logDir := filepath.Join(root, "talker"), filepath.Join(root, "talker/log")
	current := filepath.Join(logs, "current")
	waitLines(t, current, 10)
	_, _ = tool(t, "svc", "-a", logDir)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		old, err := filepath.Glob(filepath.Join(logs, "@*.s"))
		require.NoError(c, err)
		require.Len(c, old, 1)
	}, 10*time.Second, 10*time.Millisecond, "svc -a: current rotated")
	waitLines(t, current, 10)
	logger := waitState(t, logDir, isUp, "logger up")
	_, _ = tool(t, "svc", "-d", logDir)
	stopped := waitState(t, logDir, isDown, "svc -d: multilog ended")
	require.Equal(t, "exit 0", stopped.LastExit, "TERM: multilog exits 0")
	_, _ = tool(t, "svc", "-u", logDir)
	again := waitState(t, logDir, isUp, "logger up again")
	require.NotEqual(t, logger.Pid, again.Pid)
	n := len(lines(current))
	waitLines(t, current, n+10)
	_, _ = tool(t, "svc", "-p", talker)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		old, err := filepath.Glob(filepath.Join(logs, "@*.s"))
		require.NoError(c, err)
		sort.Strings(old)
		var all []string
		for _, f := range append(old, current) {
			all = append(all, lines(f)...)
		}
		require.Greater(c, len(all), n+10)
		for i, l := range all {
			require.Equal(c, fmt.Sprintf("line %d", i+1), l)
		}
	}, 10*time.Second, 10*time.Millisecond, "every line, whole, in order")
}

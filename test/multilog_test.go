//go:build system

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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

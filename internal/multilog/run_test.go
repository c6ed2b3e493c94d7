package multilog

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// run starts Run on a pipe with script args in a new directory.
func run(t *testing.T, args ...string) (dir string, w, r *os.File, sigs chan os.Signal, done chan error) {
	dir = t.TempDir()
	for i, a := range args {
		if a[0] == '.' {
			args[i] = filepath.Join(dir, a)
		}
	}
	s, err := Parse(args)
	require.NoError(t, err)
	r, w, err = os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close(); w.Close() })
	sigs = make(chan os.Signal)
	done = make(chan error, 1)
	go func() { done <- s.Run(r, io.Discard, sigs) }()
	return dir, w, r, sigs, done
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

// send gives Run a signal, failing if it does not take it. (Run acts on
// it later: tests wait for what it does.)
func send(t *testing.T, sigs chan os.Signal, sig os.Signal) {
	t.Helper()
	select {
	case sigs <- sig:
	case <-time.After(10 * time.Second):
		require.Fail(t, "Run does not take "+sig.String())
	}
}

func write(t *testing.T, w *os.File, s string) {
	_, err := w.WriteString(s)
	require.NoError(t, err)
}

// What multilog has read is in current whenever it waits for more input:
// the directories' buffers are written out before each read, not only when
// they are full or at the end.
func TestRunFlushesBeforeWaiting(t *testing.T) {
	dir, w, _, _, done := run(t, "./log")
	current := filepath.Join(dir, "log", "current")
	write(t, w, "one\ntwo\n")
	requireFile(t, current, "one\ntwo\n")
	write(t, w, "three\n")
	requireFile(t, current, "one\ntwo\nthree\n")
	require.NoError(t, w.Close())
	require.NoError(t, <-done)
	requireFile(t, current, "one\ntwo\nthree\n")
}

// oldFiles returns the contents of dir's old files, oldest first.
func oldFiles(t *testing.T, dir string) []string {
	names, err := filepath.Glob(filepath.Join(dir, "@*.s"))
	require.NoError(t, err)
	sort.Strings(names)
	var old []string
	for _, n := range names {
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		fi, err := os.Stat(n)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o744), fi.Mode().Perm(), n)
		old = append(old, string(b))
	}
	return old
}

// ALRM rotates every directory whose current is not empty, while multilog
// waits for input, as a full current would be (nNUM applies); an empty
// current stays.
func TestRunAlarmRotates(t *testing.T) {
	dir, w, _, sigs, done := run(t, "n3", "./a", "-*", "./b")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	write(t, w, "one\ntwo\n")
	requireFile(t, filepath.Join(a, "current"), "one\ntwo\n")
	send(t, sigs, unix.SIGALRM)
	requireFile(t, filepath.Join(a, "current"), "")
	require.Equal(t, []string{"one\ntwo\n"}, oldFiles(t, a))
	require.Empty(t, oldFiles(t, b), "b's current is empty: not rotated")
	for _, in := range []string{"three\n", "four\n"} {
		write(t, w, in)
		requireFile(t, filepath.Join(a, "current"), in)
		send(t, sigs, unix.SIGALRM)
		requireFile(t, filepath.Join(a, "current"), "")
	}
	require.Equal(t, []string{"three\n", "four\n"}, oldFiles(t, a), "n3: two old files")
	send(t, sigs, unix.SIGALRM) // a's current is empty too: nothing to do
	require.NoError(t, w.Close())
	require.NoError(t, <-done)
	require.Equal(t, []string{"three\n", "four\n"}, oldFiles(t, a))
	require.Empty(t, oldFiles(t, b))
}

// TERM in the middle of a line: multilog reads on to its newline, writes
// everything out and ends; what comes after stays in the input. (That it
// reads no further than the newline, test/multilog_test.go checks against
// Debian's multilog.)
func TestRunTermMidLine(t *testing.T) {
	dir, w, r, sigs, done := run(t, "./log")
	current := filepath.Join(dir, "log", "current")
	write(t, w, "one\ntwo")
	requireFile(t, current, "one\n") // and "two" is read: both came in one write
	send(t, sigs, unix.SIGTERM)
	write(t, w, "three\n")
	require.NoError(t, <-done)
	requireFile(t, current, "one\ntwothree\n")
	write(t, w, "four\n")
	require.NoError(t, w.Close())
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "four\n", string(rest))
}

// TERM between lines: multilog ends at once, reading nothing more.
func TestRunTermBetweenLines(t *testing.T) {
	dir, w, r, sigs, done := run(t, "./log")
	current := filepath.Join(dir, "log", "current")
	write(t, w, "one\n")
	requireFile(t, current, "one\n")
	send(t, sigs, unix.SIGTERM)
	require.NoError(t, <-done)
	write(t, w, "two\n")
	require.NoError(t, w.Close())
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "two\n", string(rest))
	requireFile(t, current, "one\n")
}

package multilog

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What multilog has read is in current whenever it waits for more input:
// the directories' buffers are written out before each read, not only when
// they are full or at the end.
func TestRunFlushesBeforeWaiting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	s, err := Parse([]string{dir})
	require.NoError(t, err)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Run(pr, io.Discard) }()
	current := func(want string) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			b, err := os.ReadFile(filepath.Join(dir, "current"))
			require.NoError(c, err)
			require.Equal(c, want, string(b))
		}, 10*time.Second, 10*time.Millisecond)
	}
	_, err = pw.Write([]byte("one\ntwo\n"))
	require.NoError(t, err)
	current("one\ntwo\n")
	_, err = pw.Write([]byte("three\n"))
	require.NoError(t, err)
	current("one\ntwo\nthree\n")
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)
	current("one\ntwo\nthree\n")
}

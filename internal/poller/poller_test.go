package poller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A readable fd fires once, then again only after Rearm; a removed one
// never, and is no longer Live.
func TestOneShot(t *testing.T) {
	p, err := New()
	require.NoError(t, err)
	var fds [2]int
	require.NoError(t, unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK))
	defer unix.Close(fds[1])
	fired := make(chan Token, 8)
	tok, err := p.Add(fds[0], func(tok Token) { fired <- tok })
	require.NoError(t, err)
	require.True(t, p.Live(tok))
	_, err = unix.Write(fds[1], []byte("x"))
	require.NoError(t, err)
	require.Equal(t, tok, <-fired)
	// Still readable (nothing read), but one-shot: silent until Rearm.
	require.Never(t, func() bool { return len(fired) > 0 }, 50*time.Millisecond, 5*time.Millisecond, "fired again before Rearm")
	p.Rearm(fds[0], tok)
	require.Equal(t, tok, <-fired)
	p.Remove(fds[0], tok)
	require.False(t, p.Live(tok))
	unix.Close(fds[0])
}

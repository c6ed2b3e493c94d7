package pid1

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// httpServer serves the endpoints on a port of the loopback, with the loop
// stood in for by a goroutine answering the queries; it returns the address.
func httpServer(t *testing.T, headTimeout time.Duration) string {
	in := &initProc{queries: make(chan func(), 16)}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case f := <-in.queries:
				f()
			case <-done:
				return
			}
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go in.serveConns(ln, headTimeout)
	t.Cleanup(func() { ln.Close(); close(done) })
	return ln.Addr().String()
}

// request sends the pieces, a short pause between them, and returns all
// that comes back until the server closes. A failed write is reported
// after the answer: a client that does not look at its writes (a shell's
// printf) only sees whether the answer came.
func request(t *testing.T, addr string, pieces ...string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	var werr error
	for i, p := range pieces {
		if i > 0 {
			time.Sleep(time.Millisecond) // the client's own pace, as a shell's printf
		}
		if _, err := io.WriteString(c, p); err != nil && werr == nil {
			werr = fmt.Errorf("write %q: %w", p, err)
		}
	}
	out, err := io.ReadAll(c)
	require.NoError(t, err, "read the answer to %q (%d bytes of it came)", pieces[0], len(out))
	require.NoError(t, werr)
	return string(out)
}

// A request head sent in several writes is read whole before the answer:
// every answer arrives (replying after the request line and closing with
// the rest unread reset the connection, and the answer was lost).
func TestHTTPHeadInPieces(t *testing.T) {
	addr := httpServer(t, 5*time.Second)
	for i := 0; i < 200; i++ {
		out := request(t, addr, "GET /readyz HTTP/1.1\r\n", "Host: x\r\n", "\r\n")
		require.True(t, strings.HasPrefix(out, "HTTP/1.0 200 OK\r\n"), "request %d: %q", i, out)
		require.True(t, strings.HasSuffix(out, "\r\n\r\nready\n"), "request %d: %q", i, out)
	}
}

func TestHTTPRequests(t *testing.T) {
	addr := httpServer(t, 5*time.Second)
	status := func(out string) string { return strings.SplitN(out, "\r\n", 2)[0] }

	// Headers, a body the server does not read: answered, no reset.
	body := strings.Repeat("b", 20000)
	out := request(t, addr, "POST /livez?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: probe\r\n", "Content-Length: 20000\r\nX-Folded: a\r\n b\r\n\r\n", body[:100], body[100:])
	require.Equal(t, "HTTP/1.0 200 OK", status(out))
	require.True(t, strings.HasSuffix(out, "\r\n\r\nok\n"), out)

	// HTTP/0.9 and a client that stops sending after its request line.
	require.Equal(t, "HTTP/1.0 200 OK", status(request(t, addr, "GET /livez\r\n")))
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(c, "GET /livez HTTP/1.0\r\n")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.0 200 OK", status(string(got)))
	c.Close()

	require.Equal(t, "HTTP/1.0 404 Not Found", status(request(t, addr, "GET /nothing HTTP/1.1\r\n\r\n")))

	// Too big a head: 431, the rest read and discarded, closed cleanly.
	big := "GET /readyz HTTP/1.1\r\n" + strings.Repeat("X-Big: "+strings.Repeat("a", 90)+"\r\n", 100) + "\r\n"
	out = request(t, addr, big[:5000], big[5000:])
	require.Equal(t, "HTTP/1.0 431 Request Header Fields Too Large", status(out), out)

	// Malformed heads: 400.
	for _, bad := range []string{"GARBAGE\r\n\r\n", "GET / HTTP/1.1 extra\r\n\r\n", "GET / FTP/1.0\r\n\r\n", "GET /readyz HTTP/1.1\r\nno colon here\r\n\r\n", "GET /readyz HTTP/1.1\r\n: no name\r\n\r\n"} {
		require.Equal(t, "HTTP/1.0 400 Bad Request", status(request(t, addr, bad)), "%q", bad)
	}
}

// A client that never finishes its head is dropped at the deadline,
// without an answer, and holds up no other request meanwhile.
func TestHTTPSlowClient(t *testing.T) {
	addr := httpServer(t, 300*time.Millisecond)
	slow, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer slow.Close()
	_, err = io.WriteString(slow, "GET /readyz HTTP/1.1\r\nHost: x\r\n")
	require.NoError(t, err)
	out := request(t, addr, "GET /livez HTTP/1.1\r\n\r\n")
	require.True(t, strings.HasPrefix(out, "HTTP/1.0 200 OK\r\n"), out)

	require.NoError(t, slow.SetReadDeadline(time.Now().Add(10*time.Second)))
	began := time.Now()
	got, err := io.ReadAll(slow)
	require.NoError(t, err, "the server closes the connection")
	require.Empty(t, string(got))
	require.Less(t, time.Since(began), 5*time.Second)
}

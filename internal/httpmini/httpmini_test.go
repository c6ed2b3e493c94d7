package httpmini

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Requests one after the other on one connection, a body by its length, a
// folded header, and the bounds.
func TestRead(t *testing.T) {
	in := "POST /RPC2 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic\r\n  dXNlcjpwYXNz\r\nContent-Length: 5\r\n\r\nhelloGET /readyz HTTP/1.0\r\n\r\n"
	rd := NewReader(strings.NewReader(in))
	req, code := rd.Read(8<<10, 1<<20)
	require.Equal(t, 200, code)
	require.Equal(t, "POST", req.Method)
	require.Equal(t, "/RPC2", req.Target)
	require.Equal(t, "Basic dXNlcjpwYXNz", req.Header["authorization"])
	require.Equal(t, "hello", string(req.Body))
	require.True(t, req.KeepAlive())
	req, code = rd.Read(8<<10, 1<<20)
	require.Equal(t, 200, code)
	require.Equal(t, "/readyz", req.Target)
	require.False(t, req.KeepAlive())
	_, code = rd.Read(8<<10, 1<<20)
	require.Equal(t, 0, code, "the end of the connection")

	_, code = NewReader(strings.NewReader("GET / HTTP/1.1\r\nX: "+strings.Repeat("a", 9000)+"\r\n\r\n")).Read(8<<10, 0)
	require.Equal(t, 431, code)
	_, code = NewReader(strings.NewReader("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789")).Read(8<<10, 4)
	require.Equal(t, 413, code)
	_, code = NewReader(strings.NewReader("NONSENSE\r\n\r\n")).Read(8<<10, 0)
	require.Equal(t, 400, code)
	req, code = NewReader(strings.NewReader("GET /livez")).Read(8<<10, 0)
	require.Equal(t, 0, code, "no line end: not a request yet")
	req, code = NewReader(strings.NewReader("GET /livez\r\n")).Read(8<<10, 0)
	require.Equal(t, 200, code, "HTTP/0.9: no headers")
	require.Equal(t, "/livez", req.Target)
	req, code = NewReader(strings.NewReader("POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")).Read(8<<10, -1)
	require.Equal(t, 200, code)
	require.Nil(t, req.Body, "a body left unread")
}

func TestWriteAndReadResponse(t *testing.T) {
	var b strings.Builder
	require.NoError(t, WriteResponse(&b, "HTTP/1.1", 401, "text/plain", []byte("no\n"), false, `WWW-Authenticate: Basic realm="default"`))
	require.Equal(t, "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\nWWW-Authenticate: Basic realm=\"default\"\r\n\r\nno\n", b.String())
	resp, err := ReadResponse(bufio.NewReader(strings.NewReader(b.String()+"trailing")), 1<<20)
	require.NoError(t, err)
	require.Equal(t, 401, resp.Code)
	require.Equal(t, "no\n", string(resp.Body), "by Content-Length")
}

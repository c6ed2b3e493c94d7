package pid1

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/supervisor"
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

// The endpoints' rules, service by service (a snapshot as the supervisor
// gives it) and for the whole container.
func TestHealthChecks(t *testing.T) {
	up := supervisor.ServiceStat{Name: "web", Kind: "longrun", Up: true, Ready: true, EverReady: true, WantUp: true}
	with := func(f func(s *supervisor.ServiceStat)) supervisor.ServiceStat { s := up; f(&s); return s }
	unhealthy := func(s *supervisor.ServiceStat) {
		s.Health, s.HealthFailures, s.HealthOutput = "unhealthy", 3, "refused"
	}
	for _, c := range []struct {
		name, endpoint string
		st             supervisor.ServiceStat
		notReady       []string
		alone          bool
		ok, counts     bool
		why            string
	}{
		{"live", "livez", up, nil, false, true, false, ""},
		{"unhealthy, not essential: not the container's liveness", "livez", with(unhealthy), nil, false, false, false, "unhealthy: refused"},
		{"unhealthy, asked alone", "livez", with(unhealthy), nil, true, false, true, "unhealthy: refused"},
		{"unhealthy essential", "livez", with(func(s *supervisor.ServiceStat) { unhealthy(s); s.Essential = true }), nil, false, false, true, "unhealthy: refused"},
		{"ready", "readyz", up, nil, false, true, true, ""},
		{"unhealthy is not ready", "readyz", with(unhealthy), nil, false, false, true, "unhealthy: refused"},
		{"not ready, with NotReady's reason", "readyz", with(func(s *supervisor.ServiceStat) { s.Ready = false }), []string{"web (not ready yet)"}, false, false, true, "not ready yet"},
		{"backoff", "readyz", with(func(s *supervisor.ServiceStat) { s.Ready, s.Up = false, false }), []string{"webx (backoff)", "web (backoff: unable to start)"}, false, false, true, "backoff: unable to start"},
		{"svc -d: not wanted", "readyz", with(func(s *supervisor.ServiceStat) { s.Ready, s.Up, s.WantUp = false, false, false }), nil, false, true, true, ""},
		{"svc -d, asked alone", "readyz", with(func(s *supervisor.ServiceStat) { s.Ready, s.Up, s.WantUp = false, false, false }), nil, true, false, true, "down"},
		{"scheduled", "readyz", with(func(s *supervisor.ServiceStat) { s.Kind, s.Ready, s.Up, s.WantUp = "scheduled", false, false, false }), nil, false, true, false, ""},
		{"scheduled, alone", "readyz", with(func(s *supervisor.ServiceStat) { s.Kind, s.Ready, s.Up, s.WantUp = "scheduled", false, false, false }), nil, true, true, true, ""},
		{"started", "startupz", with(func(s *supervisor.ServiceStat) { s.Ready = false }), nil, false, true, true, ""},
		{"never ready", "startupz", with(func(s *supervisor.ServiceStat) { s.Ready, s.EverReady = false, false }), []string{"web (not ready yet)"}, false, false, true, "never ready yet: not ready yet"},
		{"./down, never ready: not waited for", "startupz", with(func(s *supervisor.ServiceStat) { s.Ready, s.EverReady, s.WantUp, s.Up = false, false, false, false }), nil, false, false, false, "never ready yet: down"},
		{"scheduled: not waited for", "startupz", with(func(s *supervisor.ServiceStat) { s.Kind, s.EverReady = "scheduled", false }), nil, false, true, false, ""},
	} {
		got, counts := serviceCheck(c.endpoint, c.st, c.notReady, c.alone)
		require.Equal(t, check{name: "web", ok: c.ok, why: c.why}, got, c.name)
		require.Equal(t, c.counts, counts, c.name)
	}

	code, body := answerChecks("livez", []check{{name: "loop", ok: true}, {name: "db", why: "unhealthy: refused"}}, true)
	require.Equal(t, 503, code)
	require.Equal(t, "[+]loop ok\n[-]db failed: unhealthy: refused\nlivez check failed\n", body)
	code, body = answerChecks("livez", []check{{name: "loop", ok: true}, {name: "db", why: "unhealthy"}}, false)
	require.Equal(t, 503, code)
	require.Equal(t, "not live: db (unhealthy)\n", body)
	code, body = answerChecks("startupz", []check{{name: "db", ok: true}}, true)
	require.Equal(t, 200, code)
	require.Equal(t, "[+]db ok\nstartupz check passed\n", body)
	code, body = answerChecks("startupz", []check{{name: "db", why: "never ready yet: wait"}}, false)
	require.Equal(t, 503, code)
	require.Equal(t, "not started: db (never ready yet: wait)\n", body)
	require.True(t, isVerbose("verbose"))
	require.True(t, isVerbose("x=1&verbose=1"))
	require.False(t, isVerbose("verbose=0"))
	require.False(t, isVerbose(""))
}

// Without a service tree: PID 1's own checks, verbose or not; a service
// that does not exist is 404.
func TestHTTPHealthEndpoints(t *testing.T) {
	addr := httpServer(t, 5*time.Second)
	body := func(out string) string { return strings.SplitN(out, "\r\n\r\n", 2)[1] }
	for path, want := range map[string]string{
		"/livez":            "HTTP/1.0 200 OK\r\n",
		"/startupz":         "HTTP/1.0 200 OK\r\n",
		"/readyz/nothing":   "HTTP/1.0 404 Not Found\r\n",
		"/livez/nothing":    "HTTP/1.0 404 Not Found\r\n",
		"/startupz/nothing": "HTTP/1.0 404 Not Found\r\n",
		"/metrics/x":        "HTTP/1.0 404 Not Found\r\n",
		"/healthz":          "HTTP/1.0 404 Not Found\r\n",
	} {
		out := request(t, addr, "GET "+path+" HTTP/1.1\r\n\r\n")
		require.True(t, strings.HasPrefix(out, want), "%s: %q", path, out)
	}
	require.Equal(t, "[+]loop ok\nlivez check passed\n", body(request(t, addr, "GET /livez?verbose HTTP/1.1\r\n\r\n")))
	require.Equal(t, "[+]shutdown ok\n[+]main-command ok\nreadyz check passed\n", body(request(t, addr, "GET /readyz?verbose=1 HTTP/1.1\r\n\r\n")))
	require.Equal(t, "ready\n", body(request(t, addr, "GET /readyz HTTP/1.1\r\n\r\n")))
	require.Equal(t, "no such service: nothing\n", body(request(t, addr, "GET /readyz/nothing HTTP/1.1\r\n\r\n")))
}

func TestHTTPPendingAndStopping(t *testing.T) {
	in := &initProc{pending: true}
	code, body := in.health("readyz", "", false)
	require.Equal(t, 503, code)
	require.Equal(t, "main command not started yet\n", body)
	code, body = in.health("startupz", "", true)
	require.Equal(t, 503, code)
	require.Equal(t, "[-]main-command failed: not started yet\nstartupz check failed\n", body)
	in.pending, in.phase = false, stopping
	code, body = in.health("readyz", "", false)
	require.Equal(t, 503, code)
	require.Equal(t, "shutting down\n", body)
	code, _ = in.health("livez", "", false)
	require.Equal(t, 200, code, "the loop answers while it stops")
}

func TestHealthMetrics(t *testing.T) {
	var b strings.Builder
	gauge := func(name, help string) { fmt.Fprintf(&b, "# TYPE %s gauge\n", name) }
	at := time.Unix(1700000000, 0)
	healthMetrics(&b, gauge, []supervisor.ServiceStat{
		{Name: "web", Health: "healthy", LastStart: at},
		{Name: "db", Health: "unhealthy", HealthFailures: 3},
		{Name: "new", Health: "starting", HealthFailures: 1},
		{Name: "plain"},
		{Name: "job", Kind: "scheduled", NextRun: at.Add(time.Hour)},
	})
	require.Equal(t, `# TYPE svinit_service_healthy gauge
svinit_service_healthy{service="web"} 1
svinit_service_healthy{service="db"} 0
# TYPE svinit_service_health_failures gauge
svinit_service_health_failures{service="web"} 0
svinit_service_health_failures{service="db"} 3
svinit_service_health_failures{service="new"} 1
# TYPE svinit_service_last_start_timestamp_seconds gauge
svinit_service_last_start_timestamp_seconds{service="web"} 1700000000
# TYPE svinit_service_next_run_timestamp_seconds gauge
svinit_service_next_run_timestamp_seconds{service="job"} 1700003600
`, b.String())
}

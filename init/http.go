package pid1

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/httpmini"

	"github.com/svinit/svinit/supervisor"
)

// serveHTTP answers /livez, /readyz and /metrics on addr: a tiny HTTP/1.0
// server (net/http would add 1.2 MB, a third, to the binary). Each answer
// is computed by the loop; a loop that does not answer within a second is
// not live.
func (in *initProc) serveHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go in.serveConns(ln, headTimeout)
	return nil
}

// The bounds of a request: its head (the request line and the headers)
// must fit in maxHead bytes and come within headTimeout, or the connection
// is answered 431 or dropped. After the answer, what the client still sends
// (a body) is read and discarded, up to maxLinger bytes for lingerTimeout:
// closing with unread data would reset the connection, and the client could
// lose the answer.
const (
	maxHead       = 8 << 10
	headTimeout   = 5 * time.Second
	maxLinger     = 64 << 10
	lingerTimeout = time.Second
)

// serveConns answers each connection on a goroutine of its own, so that a
// slow client holds up no one, until ln is closed.
func (in *initProc) serveConns(ln net.Listener, headTimeout time.Duration) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // out of file descriptors: try again a little later
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go in.answer(c, headTimeout)
	}
}

func (in *initProc) answer(c net.Conn, headTimeout time.Duration) {
	_ = c.SetDeadline(time.Now().Add(headTimeout))
	target, code := readHead(c)
	if code == 0 { // the client went away or never finished its head
		c.Close()
		return
	}
	defer lingerClose(c)
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	switch code {
	case 400:
		reply(c, 400, "bad request\n")
		return
	case 431:
		reply(c, 431, "request head over 8 KiB\n")
		return
	}
	path, query, _ := strings.Cut(target, "?")
	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	ask := func(f func() (int, string)) {
		select {
		case in.queries <- func() { code, body := f(); res <- result{code, body} }:
		case <-time.After(time.Second):
			res <- result{503, "svinit's loop is busy\n"}
			return
		}
	}
	endpoint, name, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	verbose := isVerbose(query)
	switch {
	case endpoint == "metrics" && name == "":
		ask(func() (int, string) { return 200, in.metrics() })
	case endpoint == "livez" || endpoint == "readyz" || endpoint == "startupz":
		ask(func() (int, string) { return in.health(endpoint, name, verbose) })
	default:
		reply(c, 404, "not found: try /livez, /readyz, /startupz (each also /NAME, ?verbose), /metrics\n")
		return
	}
	select {
	case r := <-res:
		reply(c, r.code, r.body)
	case <-time.After(time.Second):
		reply(c, 503, "svinit's loop did not answer\n")
	}
}

// readHead reads a request's head (internal/httpmini: bounded by maxHead,
// a body left unread) and returns its target and 200; or 400 (malformed),
// 431 (over maxHead bytes), or 0 if the connection ended or timed out first.
func readHead(c net.Conn) (string, int) {
	req, code := httpmini.NewReader(c).Read(maxHead, -1)
	if code != 200 {
		return "", code
	}
	return req.Target, 200
}

// lingerClose closes c after the answer: it sends the end of the stream,
// then reads what the client still sends, bounded, so that the close does
// not reset the connection before the client has read the answer.
func lingerClose(c net.Conn) {
	defer c.Close()
	tc, ok := c.(*net.TCPConn)
	if !ok || tc.CloseWrite() != nil {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.CopyN(io.Discard, c, maxLinger)
}

func reply(c net.Conn, code int, body string) {
	status := map[int]string{200: "OK", 400: "Bad Request", 404: "Not Found", 431: "Request Header Fields Too Large", 503: "Service Unavailable"}[code]
	fmt.Fprintf(c, "HTTP/1.0 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, status, len(body), body)
}

// metrics is the Prometheus text format.
func (in *initProc) metrics() string {
	var b strings.Builder
	gauge := func(name, help string) { fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name) }
	counter := func(name, help string) { fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name) }
	if in.sup != nil {
		snap := in.sup.Snapshot()
		series := []struct {
			name, help string
			isCounter  bool
			value      func(i int) int
		}{
			{"svinit_service_up", "1 while the service's ./run runs.", false, func(i int) int { return b2i(snap[i].Up) }},
			{"svinit_service_ready", "1 while the service is up and ready.", false, func(i int) int { return b2i(snap[i].Ready) }},
			{"svinit_service_want_up", "1 while the service is wanted up.", false, func(i int) int { return b2i(snap[i].WantUp) }},
			{"svinit_service_restarts_total", "Exits of ./run that svinit did not ask for.", true, func(i int) int { return snap[i].Restarts }},
			{"svinit_service_last_exit_code", "The last exit of ./run: its code, or 128+signal.", false, func(i int) int { return snap[i].LastCode }},
		}
		for _, s := range series {
			if s.isCounter {
				counter(s.name, s.help)
			} else {
				gauge(s.name, s.help)
			}
			for i := range snap {
				fmt.Fprintf(&b, "%s{service=%q} %d\n", s.name, snap[i].Name, s.value(i))
			}
		}
		healthMetrics(&b, gauge, snap)
	}
	counter("svinit_orphans_reaped_total", "Processes reaped that svinit did not start.")
	fmt.Fprintf(&b, "svinit_orphans_reaped_total %d\n", in.reaper.Orphans())
	gauge("svinit_shutdown_duration_seconds", "Time since the shutdown began (0 while running).")
	d := 0.0
	if !in.stopAt.IsZero() {
		d = time.Since(in.stopAt).Seconds()
	}
	fmt.Fprintf(&b, "svinit_shutdown_duration_seconds %.3f\n", d)
	selfMetrics(&b, gauge)
	return b.String()
}

// selfMetrics is svinit's own footprint, with the usual Prometheus names:
// what the fault and soak tests watch for leaks.
func selfMetrics(b *strings.Builder, gauge func(name, help string)) {
	gauge("go_goroutines", "Goroutines in svinit.")
	fmt.Fprintf(b, "go_goroutines %d\n", runtime.NumGoroutine())
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		gauge("process_open_fds", "File descriptors svinit holds.")
		fmt.Fprintf(b, "process_open_fds %d\n", len(fds)-1) // less ReadDir's own
	}
	if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(statm)); len(f) > 1 {
			pages, _ := strconv.Atoi(f[1])
			gauge("process_resident_memory_bytes", "svinit's resident memory.")
			fmt.Fprintf(b, "process_resident_memory_bytes %d\n", pages*os.Getpagesize())
		}
	}
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// isVerbose: ?verbose (or verbose=anything but 0 or false), as Kubernetes'
// apiserver takes it.
func isVerbose(query string) bool {
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == "verbose" {
			return v != "0" && v != "false"
		}
	}
	return false
}

// check is one line of a verbose answer: [+]name ok or [-]name failed: why.
type check struct {
	name string
	ok   bool
	why  string
}

// health answers /livez, /readyz and /startupz, for the whole container or
// one service (name): 200 when every check passes, 503 otherwise; 404 for
// a service svinit does not supervise. Verbose, one line a check and the
// verdict, as Kubernetes' apiserver; else "ok" or "ready", and what failed.
//
//   - livez: the loop answers (or this is never computed: 503 after 1 s)
//     and no essential service is unhealthy. A service that is not
//     essential is restarted by svinit itself (health-action restart) or
//     only shown (mark): restarting the whole container for it would be
//     wrong. An essential one with health-action mark is the container's
//     liveness: the orchestrator restarts the container.
//   - readyz: running (not shutting down), the main command started, every
//     wanted-up service up and ready (a oneshot: done), none unhealthy.
//   - startupz: every service has been ready once (a oneshot: done once)
//     since svinit started, and the main command started: for a native
//     sidecar's startupProbe. A scheduled job, or a service that is not
//     wanted up and never was ready (./down, svc -d), is not waited for.
//
// Per service (/livez/NAME ...): NAME's own line, whether essential or not;
// a scheduled job passes readyz and startupz.
func (in *initProc) health(endpoint, name string, verbose bool) (int, string) {
	var snap []supervisor.ServiceStat
	var notReady []string
	if in.sup != nil {
		snap, notReady = in.sup.Snapshot(), in.sup.NotReady()
	}
	var checks []check
	if name == "" {
		checks = in.ownChecks(endpoint)
	}
	found := false
	for _, st := range snap {
		if name != "" && st.Name != name {
			continue
		}
		found = true
		if c, counts := serviceCheck(endpoint, st, notReady, name != ""); counts {
			checks = append(checks, c)
		}
	}
	if name != "" && !found {
		return 404, "no such service: " + name + "\n"
	}
	return answerChecks(endpoint, checks, verbose)
}

// ownChecks are PID 1's own lines of an endpoint.
func (in *initProc) ownChecks(endpoint string) []check {
	switch endpoint {
	case "livez":
		return []check{{name: "loop", ok: true}}
	case "readyz":
		return []check{{name: "shutdown", ok: in.phase == running, why: "shutting down"},
			{name: "main-command", ok: in.phase != running || !in.pending, why: "not started yet"}}
	}
	return []check{{name: "main-command", ok: !in.pending || in.phase != running, why: "not started yet"}}
}

// serviceCheck is a service's line of an endpoint, and whether it counts
// (alone: asked about this one service).
func serviceCheck(endpoint string, st supervisor.ServiceStat, notReady []string, alone bool) (check, bool) {
	c := check{name: st.Name, ok: true}
	unhealthy := st.Health == "unhealthy"
	switch endpoint {
	case "livez":
		if unhealthy {
			c.ok, c.why = false, unhealthyWhy(st)
		}
		return c, alone || st.Essential
	case "readyz":
		switch {
		case st.Kind == "scheduled":
		case unhealthy:
			c.ok, c.why = false, unhealthyWhy(st)
		case !st.Ready && (st.WantUp || alone):
			c.ok, c.why = false, notReadyWhy(st, notReady)
		}
		return c, alone || st.Kind != "scheduled"
	}
	if st.Kind != "scheduled" && !st.EverReady {
		c.ok, c.why = false, "never ready yet: "+notReadyWhy(st, notReady)
	}
	return c, alone || (st.Kind != "scheduled" && (st.WantUp || st.EverReady))
}

func unhealthyWhy(st supervisor.ServiceStat) string {
	return "unhealthy: " + st.HealthOutput
}

// notReadyWhy is the reason NotReady gives for st ("name (why)"), or its
// phase.
func notReadyWhy(st supervisor.ServiceStat, notReady []string) string {
	for _, nr := range notReady {
		if rest, ok := strings.CutPrefix(nr, st.Name+" ("); ok {
			return strings.TrimSuffix(rest, ")")
		}
	}
	switch {
	case st.Up:
		return "not ready yet"
	case st.WantUp:
		return "not up"
	}
	return "down"
}

// answerChecks is the answer: verbose, every line and the verdict; else
// "ok" ("ready" for readyz, as before) or the failed lines' reasons.
func answerChecks(endpoint string, checks []check, verbose bool) (int, string) {
	var b strings.Builder
	var failed []string
	for _, c := range checks {
		if c.ok {
			fmt.Fprintf(&b, "[+]%s ok\n", c.name)
			continue
		}
		fmt.Fprintf(&b, "[-]%s failed: %s\n", c.name, c.why)
		failed = append(failed, c.name+" ("+c.why+")")
	}
	code, verdict := 200, "passed"
	if len(failed) > 0 {
		code, verdict = 503, "failed"
	}
	if verbose {
		fmt.Fprintf(&b, "%s check %s\n", endpoint, verdict)
		return code, b.String()
	}
	switch {
	case code == 200 && endpoint == "readyz":
		return code, "ready\n"
	case code == 200:
		return code, "ok\n"
	case endpoint == "readyz" && strings.HasPrefix(failed[0], "shutdown ("):
		return code, "shutting down\n"
	case endpoint == "readyz" && strings.HasPrefix(failed[0], "main-command ("):
		return code, "main command not started yet\n"
	case endpoint == "readyz":
		return code, "not ready: " + strings.Join(failed, ", ") + "\n"
	case endpoint == "livez":
		return code, "not live: " + strings.Join(failed, ", ") + "\n"
	}
	return code, "not started: " + strings.Join(failed, ", ") + "\n"
}

// healthMetrics are the series of issue 16: health (1 healthy, 0
// unhealthy; absent without a probe, while not up, or before the first
// verdict), failed probes in a row, the last start and a scheduled job's
// next run.
func healthMetrics(b *strings.Builder, gauge func(name, help string), snap []supervisor.ServiceStat) {
	gauge("svinit_service_healthy", "1 while the health probe passes, 0 once unhealthy; absent without a probe, down, or starting.")
	for _, st := range snap {
		if st.Health == "healthy" || st.Health == "unhealthy" {
			fmt.Fprintf(b, "svinit_service_healthy{service=%q} %d\n", st.Name, b2i(st.Health == "healthy"))
		}
	}
	gauge("svinit_service_health_failures", "Failed health probes in a row; absent without a probe or while down.")
	for _, st := range snap {
		if st.Health != "" {
			fmt.Fprintf(b, "svinit_service_health_failures{service=%q} %d\n", st.Name, st.HealthFailures)
		}
	}
	gauge("svinit_service_last_start_timestamp_seconds", "When ./run last started (Unix seconds); absent if never.")
	for _, st := range snap {
		if !st.LastStart.IsZero() {
			fmt.Fprintf(b, "svinit_service_last_start_timestamp_seconds{service=%q} %d\n", st.Name, st.LastStart.Unix())
		}
	}
	gauge("svinit_service_next_run_timestamp_seconds", "A scheduled job's next run (Unix seconds).")
	for _, st := range snap {
		if !st.NextRun.IsZero() {
			fmt.Fprintf(b, "svinit_service_next_run_timestamp_seconds{service=%q} %d\n", st.Name, st.NextRun.Unix())
		}
	}
}

package pid1

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// serveHTTP answers /livez, /readyz and /metrics on addr: a tiny HTTP/1.0
// server (net/http would double the binary). Each answer is computed by the
// loop; a loop that does not answer within a second is not live.
func (in *initProc) serveHTTP(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go in.answer(c)
		}
	}()
	return nil
}

func (in *initProc) answer(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		reply(c, 400, "bad request\n")
		return
	}
	path := strings.SplitN(f[1], "?", 2)[0]
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
	switch path {
	case "/livez":
		ask(func() (int, string) { return 200, "ok\n" })
	case "/readyz":
		ask(in.readyz)
	case "/metrics":
		ask(func() (int, string) { return 200, in.metrics() })
	default:
		reply(c, 404, "not found: try /livez, /readyz, /metrics\n")
		return
	}
	select {
	case r := <-res:
		reply(c, r.code, r.body)
	case <-time.After(time.Second):
		reply(c, 503, "svinit's loop did not answer\n")
	}
}

func reply(c net.Conn, code int, body string) {
	status := map[int]string{200: "OK", 400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}[code]
	fmt.Fprintf(c, "HTTP/1.0 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, status, len(body), body)
}

// readyz: 200 while running with every wanted-up service ready (and the
// main command started); 503 with the reasons otherwise.
func (in *initProc) readyz() (int, string) {
	switch {
	case in.phase != running:
		return 503, "shutting down\n"
	case in.pending:
		return 503, "main command not started yet\n"
	}
	if in.sup != nil {
		if nr := in.sup.NotReady(); len(nr) > 0 {
			return 503, "not ready: " + strings.Join(nr, ", ") + "\n"
		}
	}
	return 200, "ready\n"
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

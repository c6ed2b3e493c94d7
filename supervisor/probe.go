package supervisor

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// probeKind is how a probe checks a service.
type probeKind int

const (
	probeNone probeKind = iota
	probeExec           // an executable in the service directory: exit 0 passes
	probeTCP            // a TCP connect to host:port
	probeHTTP           // an HTTP GET: 2xx or 3xx passes
)

// probeSpec is one probe: for health (liveness) or readiness.
type probeSpec struct {
	kind   probeKind
	target string // the executable, host:port, or the URL
	host   string // probeHTTP: host:port to connect to
	path   string // probeHTTP: the request target
}

// parseTCP reads health-tcp / check-tcp: "host:port" or ":port" (loopback).
func parseTCP(s string) (probeSpec, error) {
	addr := strings.TrimSpace(s)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return probeSpec{}, fmt.Errorf("not host:port or :port: %q", addr)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return probeSpec{kind: probeTCP, target: addr}, nil
}

// parseHTTP reads health-http / check-http: an http:// URL.
func parseHTTP(s string) (probeSpec, error) {
	raw := strings.TrimSpace(s)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return probeSpec{}, fmt.Errorf("not an http:// URL: %q", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	path := u.RequestURI()
	return probeSpec{kind: probeHTTP, target: raw, host: host, path: path}, nil
}

// probeOutputMax bounds what is kept of a probe's output.
const probeOutputMax = 4096

// probeResult is how one probe ended.
type probeResult struct {
	ok  bool
	out string // what it said: the exec probe's output, or why it failed
}

// probeBuiltin runs a TCP or HTTP probe: no fork; it runs on its own
// goroutine and the result is posted to the loop.
func probeBuiltin(p probeSpec, timeout time.Duration) probeResult {
	addr := p.target
	if p.kind == probeHTTP {
		addr = p.host
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return probeResult{out: "connect to " + addr + ": " + dialError(err)}
	}
	defer conn.Close()
	if p.kind == probeTCP {
		return probeResult{ok: true, out: "connected to " + addr}
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	host, _, _ := strings.Cut(p.host, ":")
	if u, err := url.Parse(p.target); err == nil {
		host = u.Host
	}
	req := "GET " + p.path + " HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: svinit-probe\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return probeResult{out: "GET " + p.target + ": " + dialError(err)}
	}
	line, err := bufio.NewReaderSize(conn, 512).ReadString('\n')
	if err != nil {
		return probeResult{out: "GET " + p.target + ": no status line: " + dialError(err)}
	}
	line = strings.TrimRight(line, "\r\n")
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return probeResult{out: "GET " + p.target + ": not an HTTP status line: " + strconv.Quote(line)}
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return probeResult{out: "GET " + p.target + ": not an HTTP status line: " + strconv.Quote(line)}
	}
	return probeResult{ok: code >= 200 && code < 400, out: "GET " + p.target + ": " + strings.Join(f[1:], " ")}
}

func dialError(err error) string {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "timed out"
	}
	return errstr.Text(err)
}

// probe is one exec probe that runs: its process and the file its output
// goes to.
type probe struct {
	proc    *reaper.Proc
	out     *os.File // a memfd: stdout and stderr of the probe
	timeout bool     // killed at its timeout
	health  bool     // a health probe (or the readiness one)
	began   time.Time
	gen     int // health: the run it probes (healthGen)
}

// startExecProbe starts an executable probe in the service directory, in
// a session (and so process group) of its own, its output kept in memory.
func (s *Supervisor) startExecProbe(v *service, path string, health bool) (*probe, error) {
	if err := checkRunnable(path); err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("svinit-probe", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, errstr.Unable("create the output file of", path, err)
	}
	out := os.NewFile(uintptr(fd), "probe output")
	spec := s.spec(v, path, []string{"./" + filepath.Base(path)})
	spec.Files[1], spec.Files[2] = out.Fd(), out.Fd()
	p, err := s.reaper.Start(spec)
	if err != nil {
		out.Close()
		return nil, err
	}
	return &probe{proc: p, out: out, health: health, began: time.Now()}, nil
}

// result reads how an exec probe ended.
func (pr *probe) result(e reaper.Exit) probeResult {
	buf := make([]byte, probeOutputMax)
	n, _ := pr.out.ReadAt(buf, 0)
	pr.out.Close()
	out := strings.TrimSpace(string(buf[:n]))
	switch {
	case pr.timeout:
		out = strings.TrimSpace("timed out after " + time.Since(pr.began).Round(time.Millisecond).String() + ": killed; " + out)
	case e.Code() != 0:
		out = strings.TrimSpace(reaper.Describe(e.Status) + ": " + out)
	}
	return probeResult{ok: e.Code() == 0 && !pr.timeout, out: out}
}

// killProbeAfter kills an exec probe's whole process group at its timeout.
func (s *Supervisor) killProbeAfter(v *service, pr *probe, d time.Duration) {
	time.AfterFunc(d, func() {
		s.post(func() {
			if v.healthProbe == pr {
				pr.timeout = true
				if err := s.reaper.Signal(pr.proc, unix.SIGKILL, true); err != nil {
					svlog.Trace("%s: probe: %s", v.name, errstr.Text(err))
				}
			}
		})
	})
}

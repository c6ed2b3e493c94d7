package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/internal/httpmini"
	"github.com/svinit/svinit/internal/poller"
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
	target string         // the executable, host:port, or the URL
	host   string         // probeTCP, probeHTTP: host:port to connect to
	addr   netip.AddrPort // host as an IP address; not valid: a name, looked up at each probe
	req    []byte         // probeHTTP: the request
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
	ap, _ := netip.ParseAddrPort(addr)
	return probeSpec{kind: probeTCP, target: addr, host: addr, addr: ap}, nil
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
	ap, _ := netip.ParseAddrPort(host)
	req := "GET " + u.RequestURI() + " HTTP/1.0\r\nHost: " + u.Host + "\r\nUser-Agent: svinit-probe\r\nConnection: close\r\n\r\n"
	return probeSpec{kind: probeHTTP, target: raw, host: host, addr: ap, req: []byte(req)}, nil
}

// probeOutputMax bounds what is kept of a probe's output (and of an HTTP
// status line).
const probeOutputMax = 4096

// probeResult is how one probe ended.
type probeResult struct {
	ok  bool
	out string // what it said: the exec probe's output, or why it failed
}

// netProbe is one built-in probe (TCP connect, HTTP GET) in flight: a
// non-blocking socket driven by the loop, with no goroutine and no net.Conn.
// Each step — connect, then for HTTP the request and the status line — is
// tried at once and, when the socket is not ready yet, again when the
// poller says it is; the timeout is a loop timer. To a loopback port the
// connect completes within the connect call itself, so a TCP probe there is
// socket, connect, connect again (EISCONN: done) and close on the loop, and
// nothing else. A host given by name is looked up first, on a goroutine
// (Go's resolver: /etc/hosts, DNS); its addresses are tried in turn.
type netProbe struct {
	s       *Supervisor
	spec    probeSpec
	addrs   []netip.AddrPort // still to try
	fd      int
	tok     poller.Token // the fd's registration with the poller; 0: none
	next    func()       // the step to try again when the fd is ready
	sent    bool         // probeHTTP: connected and the request sent
	resp    []byte       // probeHTTP: what came back so far
	timer   *loopTimer
	done    func(probeResult)
	over    bool
	lastErr error // the last connect's failure
}

// startNetProbe starts a built-in probe; done gets its result on the loop
// (perhaps before startNetProbe returns), unless it is cancelled first.
func (s *Supervisor) startNetProbe(spec probeSpec, timeout time.Duration, done func(probeResult)) *netProbe {
	np := &netProbe{s: s, spec: spec, fd: -1, done: done}
	np.timer = s.after(timeout, np.timedOut)
	if spec.addr.IsValid() {
		np.addrs = []netip.AddrPort{spec.addr}
		np.dialNext()
	} else {
		np.lookup(timeout)
	}
	return np
}

// lookup finds the addresses of a host given by name, on a goroutine of
// its own: a lookup may wait for DNS.
func (np *netProbe) lookup(timeout time.Duration) {
	name, port, _ := net.SplitHostPort(np.spec.host)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	go func() {
		defer cancel()
		var aps []netip.AddrPort
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
		if err == nil {
			for _, ip := range ips {
				if ap, perr := netip.ParseAddrPort(net.JoinHostPort(ip.String(), port)); perr == nil {
					aps = append(aps, ap)
				}
			}
		}
		np.s.post(func() {
			if np.over {
				return
			}
			if err != nil {
				np.finish(false, "connect to "+np.spec.host+": "+errstr.Text(err))
				return
			}
			np.addrs = aps
			np.dialNext()
		})
	}()
}

// dialNext connects to the next address; with none left the probe failed
// with the last address's reason.
func (np *netProbe) dialNext() {
	np.closeFd()
	if len(np.addrs) == 0 {
		why := "no address"
		if np.lastErr != nil {
			why = errstr.Text(np.lastErr)
		}
		np.finish(false, "connect to "+np.spec.host+": "+why)
		return
	}
	ap := np.addrs[0]
	np.addrs = np.addrs[1:]
	family := unix.AF_INET6
	if ap.Addr().Unmap().Is4() {
		family = unix.AF_INET
	}
	fd, err := rawSocket(family)
	if err != nil {
		np.lastErr = err
		np.dialNext()
		return
	}
	np.fd = fd
	np.connect(ap)
}

// connect starts the connect, or asks again how it went: a second
// connect on a non-blocking socket answers EISCONN (or 0) once connected,
// EALREADY while it is still under way, and the reason when it failed.
func (np *netProbe) connect(ap netip.AddrPort) {
	zone := zoneIndex(ap)
	err := rawConnect(np.fd, ap, zone)
	switch err {
	case unix.EINPROGRESS:
		err = rawConnect(np.fd, ap, zone)
	case unix.EINTR:
		err = unix.EALREADY
	}
	switch err {
	case nil, unix.EISCONN:
		np.connected()
	case unix.EALREADY, unix.EINPROGRESS, unix.EINTR:
		np.wait(poller.Out, func() { np.connect(ap) })
	default:
		np.lastErr = err
		np.dialNext()
	}
}

// zoneIndex is the interface of an IPv6 address's zone (fe80::1%eth0).
func zoneIndex(ap netip.AddrPort) uint32 {
	if zone := ap.Addr().Zone(); zone != "" {
		if ifi, err := net.InterfaceByName(zone); err == nil {
			return uint32(ifi.Index)
		}
	}
	return 0
}

// connected: a TCP probe passed; an HTTP probe sends its request (a few
// hundred bytes: a new socket's buffer takes them at once) and reads the
// status line.
func (np *netProbe) connected() {
	if np.spec.kind == probeTCP {
		np.finish(true, "connected to "+np.spec.host)
		return
	}
	np.sent = true
	n, err := rawWrite(np.fd, np.spec.req)
	if err == nil && n < len(np.spec.req) {
		err = io.ErrShortWrite
	}
	if err != nil {
		np.finish(false, "GET "+np.spec.target+": "+errstr.Text(err))
		return
	}
	np.read()
}

// read reads the response up to the end of its status line.
func (np *netProbe) read() {
	var buf [512]byte
	for {
		n, err := rawRead(np.fd, buf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			np.wait(poller.In, np.read)
			return
		case err != nil:
			np.finish(false, "GET "+np.spec.target+": no status line: "+errstr.Text(err))
			return
		case n == 0:
			np.finish(false, "GET "+np.spec.target+": no status line: "+errstr.Text(io.EOF))
			return
		}
		np.resp = append(np.resp, buf[:n]...)
		line, _, found := strings.Cut(string(np.resp), "\n")
		if !found && len(np.resp) < probeOutputMax {
			continue
		}
		line = strings.TrimRight(line, "\r\n")
		code, status, ok := httpmini.StatusLine(line)
		if !ok {
			np.finish(false, "GET "+np.spec.target+": not an HTTP status line: "+strconv.Quote(line))
			return
		}
		np.finish(code >= 200 && code < 400, "GET "+np.spec.target+": "+status)
		return
	}
}

// wait runs next on the loop when the fd is ready for events.
func (np *netProbe) wait(events uint32, next func()) {
	np.next = next
	if np.tok != 0 {
		np.s.poller.RearmFor(np.fd, np.tok, events)
		return
	}
	var err error
	if np.s.poller == nil {
		err = errors.New("no epoll")
	} else {
		np.tok, err = np.s.watchFdFor(np.fd, events, func() {
			if !np.over {
				np.next()
			}
		})
	}
	if err != nil {
		np.finish(false, "connect to "+np.spec.host+": "+errstr.Text(err))
	}
}

func (np *netProbe) timedOut() {
	np.timer = nil
	if np.sent {
		np.finish(false, "GET "+np.spec.target+": no status line: timed out")
		return
	}
	np.finish(false, "connect to "+np.spec.host+": timed out")
}

// finish closes the socket and hands the result on.
func (np *netProbe) finish(ok bool, out string) {
	if np.over {
		return
	}
	np.cancel()
	np.done(probeResult{ok: ok, out: out})
}

// cancel ends the probe without a result.
func (np *netProbe) cancel() {
	if np.over {
		return
	}
	np.over = true
	np.s.cancel(np.timer)
	np.closeFd()
}

func (np *netProbe) closeFd() {
	if np.fd < 0 {
		return
	}
	if np.tok != 0 {
		np.s.poller.Remove(np.fd, np.tok)
		np.tok = 0
	}
	rawClose(np.fd)
	np.fd = -1
}

// probe is one exec probe that runs.
type probe struct {
	proc    *reaper.Proc
	timeout bool // killed at its timeout
	began   time.Time
	gen     int        // the run it probes (healthGen)
	timer   *loopTimer // its timeout
}

// startExecProbe starts an executable probe in the service directory, in
// a session (and so process group) of its own, its output kept in memory:
// in the service's memfd, emptied before each probe. Whether the file can
// run is asked only when it did not start, for the reason.
func (s *Supervisor) startExecProbe(v *service, path string) (*probe, error) {
	if err := s.probeOutput(v, path); err != nil {
		return nil, err
	}
	spec := s.spec(v, path, []string{"./" + filepath.Base(path)})
	spec.Files[1], spec.Files[2] = v.probeOut.Fd(), v.probeOut.Fd()
	p, err := s.reaper.Start(spec)
	if err != nil {
		if cerr := checkRunnable(path); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	return &probe{proc: p, began: time.Now()}, nil
}

// probeOutput empties the file the service's probes write to, made at the
// first probe.
func (s *Supervisor) probeOutput(v *service, path string) error {
	if v.probeOut != nil {
		if rawEmpty(int(v.probeOut.Fd())) == nil {
			return nil
		}
		s.closeProbeOutput(v)
	}
	fd, err := unix.MemfdCreate("svinit-probe", unix.MFD_CLOEXEC)
	if err != nil {
		return errstr.Unable("create the output file of", path, err)
	}
	v.probeOut = os.NewFile(uintptr(fd), "probe output")
	return nil
}

func (s *Supervisor) closeProbeOutput(v *service) {
	if v.probeOut != nil {
		v.probeOut.Close()
		v.probeOut = nil
	}
}

// result reads how an exec probe ended.
func (pr *probe) result(v *service, e reaper.Exit) probeResult {
	var out string
	if v.probeOut != nil {
		buf := make([]byte, probeOutputMax)
		n, _ := rawPread(int(v.probeOut.Fd()), buf, 0)
		out = strings.TrimSpace(string(buf[:max(n, 0)]))
	}
	switch {
	case pr.timeout:
		out = strings.TrimSpace("timed out after " + time.Since(pr.began).Round(time.Millisecond).String() + ": killed; " + out)
	case e.Code() != 0:
		out = strings.TrimSpace(reaper.Describe(e.Status) + ": " + out)
	}
	return probeResult{ok: e.Code() == 0 && !pr.timeout, out: out}
}

// killProbeAfter kills an exec probe's whole process group at its timeout
// (a loop timer, cancelled when the probe exits).
func (s *Supervisor) killProbeAfter(v *service, pr *probe, d time.Duration) {
	pr.timer = s.after(d, func() {
		if v.healthProbe == pr {
			pr.timeout = true
			if err := s.reaper.Signal(pr.proc, unix.SIGKILL, true); err != nil {
				svlog.Trace("%s: probe: %s", v.name, errstr.Text(err))
			}
		}
	})
}

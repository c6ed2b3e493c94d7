// Package syslogd listens on a syslog datagram socket (/dev/log) and prints
// each message with its program tag, facility and severity, so daemons that
// only log to syslog (keepalived -S6) reach the container's stdout:
// "keepalived: local6.info: VRRP_Instance(VI_1) Entering MASTER STATE".
package syslogd

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/internal/svlog"
)

var facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
	"cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

var severities = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Listen binds path (a stale socket there is replaced) and prints every
// message it receives until the socket fails.
func Listen(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	_ = os.Chmod(path, 0o666)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					svlog.Warn("syslog socket %s: %s", path, errstr.Text(err))
				}
				return
			}
			tag, msg := Parse(buf[:n])
			svlog.Line(tag, "syslog", []byte(msg))
		}
	}()
	return nil
}

// Parse reads one syslog datagram (RFC 3164 as glibc and logger send it, or
// RFC 5424) into the program tag and "facility.severity: message".
func Parse(b []byte) (tag, msg string) {
	s := strings.TrimRight(string(b), "\n\x00")
	pri := 13 // user.notice, as syslogd assumes without a priority
	if strings.HasPrefix(s, "<") {
		if end := strings.IndexByte(s, '>'); end > 1 && end <= 4 {
			if n, err := strconv.Atoi(s[1:end]); err == nil && n >= 0 && n < len(facilities)*8 {
				pri, s = n, s[end+1:]
			}
		}
	}
	level := facilities[pri/8] + "." + severities[pri%8]
	if strings.HasPrefix(s, "1 ") {
		tag, s = parse5424(s[2:])
	} else {
		tag, s = parse3164(s)
	}
	if tag == "" {
		tag = "syslog"
	}
	return tag, level + ": " + s
}

// parse3164: "Nov 24 04:05:06 tag[pid]: message" (the stamp is optional).
func parse3164(s string) (string, string) {
	if len(s) >= 16 && s[3] == ' ' && s[6] == ' ' && s[9] == ':' && s[12] == ':' && s[15] == ' ' {
		s = s[16:]
	}
	colon := strings.Index(s, ": ")
	if colon <= 0 || strings.ContainsAny(s[:colon], " \t") {
		return "", s
	}
	tag := s[:colon]
	if i := strings.IndexByte(tag, '['); i > 0 {
		tag = tag[:i]
	}
	return tag, s[colon+2:]
}

// parse5424: "TIMESTAMP HOST APP PROCID MSGID SD MSG".
func parse5424(s string) (string, string) {
	f := strings.SplitN(s, " ", 6)
	if len(f) < 6 {
		return "", s
	}
	app, rest := f[2], f[5]
	if app == "-" {
		app = ""
	}
	if strings.HasPrefix(rest, "-") {
		rest = strings.TrimPrefix(rest[1:], " ")
	} else if strings.HasPrefix(rest, "[") {
		if i := strings.Index(rest, "] "); i >= 0 {
			rest = rest[i+2:]
		}
	}
	return app, strings.TrimPrefix(rest, "\ufeff")
}

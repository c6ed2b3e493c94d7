package multilog

import (
	"strconv"
	"time"
)

// TAI64N is the label daemontools prints: "@" and 24 hex digits, seconds
// 2^62 + 10 + Unix time, then nanoseconds.
func TAI64N(t time.Time) string {
	return string(appendTAI64N(nil, t))
}

func appendTAI64N(b []byte, t time.Time) []byte {
	const hex = "0123456789abcdef"
	sec, nsec := uint64(0x400000000000000a+t.Unix()), uint32(t.Nanosecond())
	b = append(b, '@')
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hex[sec>>i&15])
	}
	for i := 28; i >= 0; i -= 4 {
		b = append(b, hex[nsec>>i&15])
	}
	return b
}

// ParseTAI64N reads a label back; ok is false if s does not start with one.
func ParseTAI64N(s string) (time.Time, bool) {
	if len(s) < 25 || s[0] != '@' {
		return time.Time{}, false
	}
	sec, err1 := strconv.ParseUint(s[1:17], 16, 64)
	nsec, err2 := strconv.ParseUint(s[17:25], 16, 32)
	if err1 != nil || err2 != nil || sec < 0x400000000000000a || nsec >= 1e9 {
		return time.Time{}, false
	}
	return time.Unix(int64(sec-0x400000000000000a), int64(nsec)), true
}

// Local is tai64nlocal's rendering: "2006-01-02 15:04:05.999999999".
func Local(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04:05.000000000")
}

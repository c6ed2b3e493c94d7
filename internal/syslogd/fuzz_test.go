package syslogd

import (
	"strings"
	"testing"
)

// Parse never panics and always names a level.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"<182>Nov 24 04:05:06 keepalived[12]: x", "<134>1 2026 h a p m - msg", "<", "<9999999>", "<1>1 a b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, msg := Parse(b)
		if tag == "" || !strings.Contains(msg, ".") {
			t.Fatalf("tag %q msg %q from %q", tag, msg, b)
		}
	})
}

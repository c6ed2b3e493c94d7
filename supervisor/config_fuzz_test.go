package supervisor

import (
	"strings"
	"testing"
)

// The per-service file parsers never panic; what they accept is in range.
func FuzzConfigFiles(f *testing.F) {
	for _, s := range []string{"TERM", "SIGHUP", "15", "0", "65", "3", "1023", "1024", "db\n# c\nweb\n", "../x", "5000", "-1", "", " \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sig, err := parseSignal(s); err == nil && (sig < 1 || sig > 64) {
			t.Fatalf("signal %d from %q", sig, s)
		}
		if d, err := parseMillis(s); err == nil && d < 0 {
			t.Fatalf("negative duration from %q", s)
		}
		if fd, err := parseFd(s); err == nil && (fd < 3 || fd > 1023) {
			t.Fatalf("fd %d from %q", fd, s)
		}
		if names, err := parseDepends(s); err == nil {
			for _, n := range names {
				if n == "" || strings.Contains(n, "/") || strings.HasPrefix(n, ".") {
					t.Fatalf("bad name %q from %q", n, s)
				}
			}
		}
	})
}

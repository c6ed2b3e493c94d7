package chain

import (
	"bytes"
	"strings"
	"testing"
)

// EnvValue never panics; the value is the first line's bytes, with no
// trailing blank and no NUL (which the environment could not carry).
func FuzzEnvValue(f *testing.F) {
	for _, s := range []string{"", "value\n", "a b  \t\nsecond line", "x\x00y", "\x00\x00", " \t", "\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := EnvValue(b)
		first, _, _ := bytes.Cut(b, []byte("\n"))
		if len(v) > len(first) || strings.ContainsRune(v, 0) {
			t.Fatalf("EnvValue(%q) = %q", b, v)
		}
		if strings.HasSuffix(v, " ") || strings.HasSuffix(v, "\t") {
			t.Fatalf("trailing blank kept: %q", v)
		}
	})
}

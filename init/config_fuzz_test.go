package pid1

import (
	"strings"
	"testing"
)

// svinit's own options, any argv (NUL-separated) and SVINIT_GRACE: no
// panic, and what is accepted is sane.
func FuzzParseArgs(f *testing.F) {
	f.Add("-g\x00-e\x00143\x00--\x00sh\x00-c\x00true", "8s")
	f.Add("--grace\x002.5\x00-s\x00/service", "")
	f.Add("--drain=1s\x00--http\x00:9090\x00--log-format\x00json", "500ms")
	f.Add("-e\x00-1\x00--grace\x00-5s", "1e400")
	f.Fuzz(func(t *testing.T, argv, grace string) {
		var args []string
		if argv != "" {
			args = strings.Split(argv, "\x00")
		}
		cfg, err := ParseArgs(args, func(name string) string {
			if name == "SVINIT_GRACE" {
				return grace
			}
			return ""
		})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if cfg.Grace < 0 || cfg.Drain < 0 || cfg.ReadyWait < 0 || cfg.Rescan < 0 {
			t.Fatalf("negative duration accepted: %+v", cfg)
		}
		for code := range cfg.ZeroCodes {
			if code < 0 || code > 255 {
				t.Fatalf("exit code %d accepted", code)
			}
		}
	})
}

package s6overlay

import (
	"fmt"
	"strings"
)

// CatchallDir is where s6-overlay v3's catch-all logger writes
// (S6_LOGGING 1 or 2): s6-linux-init's uncaught-logs, on /run.
const CatchallDir = "/run/uncaught-logs"

// DefaultLoggingScript is S6_LOGGING_SCRIPT's default: 20 archived files of
// 1 MB at most, ISO 8601 stamps.
const DefaultLoggingScript = "n20 s1000000 T"

// CatchallScript is the multilog script of the catch-all logger:
// S6_LOGGING_SCRIPT's directives, then the directory dir. s6-log takes
// its stamp directive anywhere; multilog wants it first, so it is moved
// there. Two stamps are refused (svinit's logger writes one).
func CatchallScript(script, dir string) ([]string, error) {
	var stamp, rest []string
	for _, w := range strings.Fields(script) {
		if w == "t" || w == "T" {
			stamp = append(stamp, w)
			continue
		}
		rest = append(rest, w)
	}
	if len(stamp) > 1 {
		return nil, fmt.Errorf("S6_LOGGING_SCRIPT=%q: both t and T: svinit's logger writes one stamp", script)
	}
	return append(append(stamp, rest...), dir), nil
}

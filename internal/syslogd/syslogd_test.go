package syslogd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, tag, msg string }{
		{"<182>Nov 24 04:05:06 keepalived[12]: Entering MASTER STATE", "keepalived", "local6.info: Entering MASTER STATE"},
		{"<14>Nov  4 04:05:06 app: hi", "app", "user.info: hi"},
		{"<30>myd: no stamp", "myd", "daemon.info: no stamp"},
		{"<134>1 2026-11-24T04:05:06.123Z host web 42 - - hello 5424", "web", "local0.info: hello 5424"},
		{"<134>1 2026-11-24T04:05:06Z host web 42 ID [x a=\"b\"] with sd", "web", "local0.info: with sd"},
		{"no priority at all", "syslog", "user.notice: no priority at all"},
		{"<999>bad priority: x", "syslog", "user.notice: <999>bad priority: x"},
		{"", "syslog", "user.notice: "},
	} {
		tag, msg := Parse([]byte(tc.in))
		require.Equal(t, tc.tag, tag, tc.in)
		require.Equal(t, tc.msg, msg, tc.in)
	}
}

//go:build system

package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// svinit as PID 1 answers a request written in pieces by a shell, as a
// probe script does it: printf to /dev/tcp, a pause between the writes.
// Every answer comes; bash is not killed by a reset connection.
func TestHTTPShellProbe(t *testing.T) {
	addr := freeAddr(t)
	root := makeTree(t, map[string]files{"web": {"run": sh("exec sleep 1000")}})
	startTree(t, root, "--http", addr)
	require.Eventually(t, func() bool { c, _ := httpGet(addr, "/readyz"); return c == 200 }, 5*time.Second, 20*time.Millisecond)
	host, port, _ := strings.Cut(addr, ":")
	probe := fmt.Sprintf(`exec 3<>/dev/tcp/%s/%s
printf 'GET /readyz HTTP/1.1\r\n' >&3; sleep 0.005
printf 'Host: x\r\n' >&3; sleep 0.005
printf 'User-Agent: probe\r\n' >&3; sleep 0.005
printf '\r\n' >&3
cat <&3`, host, port)
	for i := 0; i < 50; i++ {
		out, code := tool(t, "bash", "-c", probe)
		require.Equal(t, 0, code, "probe %d: %s", i, out)
		require.True(t, strings.HasPrefix(out, "HTTP/1.0 200 OK\r\n") && strings.HasSuffix(out, "\r\n\r\nready\n"), "probe %d: %q", i, out)
	}
}

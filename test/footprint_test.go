//go:build system

package test

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// footprint is svinit's own use of the machine: goroutines, fds and RSS
// from its /metrics (--http), CPU time from /proc.
type footprint struct {
	goroutines, fds int
	rss             int64
	cpu             time.Duration
}

func (f footprint) String() string {
	return fmt.Sprintf("%d goroutines, %d fds, RSS %d KiB, CPU %v", f.goroutines, f.fds, f.rss>>10, f.cpu)
}

// freeAddr is a loopback address nobody listens on, for --http.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// httpGet is one HTTP/1.0 request to svinit's --http server.
func httpGet(addr, path string) (int, string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err.Error()
	}
	defer c.Close()
	fmt.Fprintf(c, "GET %s HTTP/1.0\r\n\r\n", path)
	b, _ := io.ReadAll(c)
	status, body, _ := strings.Cut(string(b), "\r\n\r\n")
	var code int
	fmt.Sscanf(status, "HTTP/1.0 %d", &code)
	return code, body
}

// metric is one unlabelled or labelled sample of /metrics, summed over
// its series.
func metric(body, name string) int64 {
	var sum int64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			sum += v
		}
	}
	return sum
}

func readFootprint(t *testing.T, addr string, pid int) footprint {
	t.Helper()
	code, body := httpGet(addr, "/metrics")
	require.Equal(t, 200, code, body)
	return footprint{
		goroutines: int(metric(body, "go_goroutines")),
		fds:        int(metric(body, "process_open_fds")),
		rss:        metric(body, "process_resident_memory_bytes"),
		cpu:        cpuTime(t, pid),
	}
}

// cpuTime is the user+system time of process pid.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// requireBounded: after the fault svinit holds no more goroutines or fds
// than before (a few in flight), and its RSS has not run away.
func requireBounded(t *testing.T, before, after footprint) {
	t.Helper()
	require.LessOrEqual(t, after.goroutines, before.goroutines+2, "goroutines: before %v, after %v", before, after)
	require.LessOrEqual(t, after.fds, before.fds+2, "fds: before %v, after %v", before, after)
	require.LessOrEqual(t, after.rss, before.rss*3/2+2<<20, "RSS: before %v, after %v", before, after)
}

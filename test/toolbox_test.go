//go:build system

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/internal/testkit"
	"golang.org/x/sys/unix"
)

// talkers is a tree of n services that each write 50 numbered lines of
// 10,000 bytes on stdout, and one on stderr, all at once.
func talkers(t *testing.T, n int) string {
	services := map[string]files{}
	for i := 0; i < n; i++ {
		services[fmt.Sprintf("s%02d", i)] = files{"run": sh(`LINE=$(head -c 10000 /dev/zero | tr '\0' ` + string(rune('a'+i)) + `)
i=0; while [ $i -lt 50 ]; do i=$((i+1)); echo "$i $LINE"; done
echo "to stderr" >&2
exec sleep 1000`)}
	}
	return makeTree(t, services)
}

// Every line of 20 services writing long lines at once comes out whole,
// with the right service's name in front.
func TestOutputPrefixed(t *testing.T) {
	root := talkers(t, 20)
	r := startTree(t, root)
	want := 20 * 50
	require.Eventually(t, func() bool { return strings.Count(r.stdout.String(), "\n") >= want }, 30*time.Second, 50*time.Millisecond)
	line := regexp.MustCompile(`^s(\d\d): (\d+) ([a-z])+$`)
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout.String(), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		require.NotNil(t, m, "a mangled line: %.80q...", l)
		require.Len(t, l, len("s00: ")+len(m[2])+1+10000)
		require.Equal(t, string(rune('a'+atoi(m[1]))), m[3], "the service's own letter")
		counts[m[1]]++
	}
	require.Len(t, counts, 20)
	for s, c := range counts {
		require.Equal(t, 50, c, "lines of s%s", s)
	}
	require.Eventually(t, func() bool { return strings.Count(r.stderr.String(), ": to stderr\n") == 20 }, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, r.stderr.String(), "s07: to stderr\n")
}

// --log-format json: every line is one JSON object; svinit's own messages too.
func TestOutputJSON(t *testing.T) {
	root := talkers(t, 3)
	r := startTree(t, root, "--log-format", "json")
	require.Eventually(t, func() bool { return strings.Count(r.stdout.String(), "\n") >= 150 }, 30*time.Second, 50*time.Millisecond)
	_, _ = tool(t, "svc", "-k", filepath.Join(root, "s01"))
	require.Eventually(t, func() bool { return strings.Contains(r.stderr.String(), `"level":"info"`) }, 10*time.Second, 20*time.Millisecond)
	for _, stream := range []string{r.stdout.String(), r.stderr.String()} {
		for _, l := range strings.Split(strings.TrimSuffix(stream, "\n"), "\n") {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &rec), "%.100q", l)
			for _, k := range []string{"time", "service", "stream", "message"} {
				require.Contains(t, rec, k)
			}
		}
	}
	require.Contains(t, r.stderr.String(), `"service":"svinit","stream":"stderr","level":"info","message":"s01: ./run exited`)
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// multilog: rotation by size and count, the stamps, patterns — against
// Debian's multilog on the same input where the two agree by design.
func TestMultilog(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := 1; i <= 300; i++ {
		fmt.Fprintf(&in, "line %05d %s\n", i, strings.Repeat("padding ", 10))
	}
	ml := func(prog string, args ...string) (string, int) {
		argv := append([]string{prog}, args...)
		if prog == "svinit" {
			argv = append([]string{svinit, "multilog"}, args...)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(in.String())
		out, code, err := combined(cmd)
		require.NoError(t, err, "running %v", argv)
		return out, code
	}
	for _, prog := range []string{"multilog", "svinit"} {
		_, code := ml(prog, "s4096", "n3", "./"+prog)
		require.Equal(t, 0, code)
		names, all := logFiles(t, filepath.Join(dir, prog))
		require.Len(t, names, 2, "%s: n3 keeps two old files", prog)
		require.True(t, strings.HasSuffix(in.String(), all), "%s: the newest lines are all there, in order", prog)
		for _, n := range names {
			fi, _ := os.Stat(filepath.Join(dir, prog, n))
			require.LessOrEqual(t, fi.Size(), int64(4096))
			require.Equal(t, "-rwxr--r--", fi.Mode().String(), "an old file is complete")
		}
	}
	real, _ := ml("multilog", "-*", "+*00?7*", "+line 0000*", "-line 00002*", "e")
	ours, _ := ml("svinit", "-*", "+*00?7*", "+line 0000*", "-line 00002*", "e")
	require.Equal(t, real, ours)
	require.NotEmpty(t, ours)

	stamped, _ := ml("svinit", "t", "e", "-*")
	require.Regexp(t, `^@4000[0-9a-f]{20} line 00001 `, stamped)
	cmd := exec.Command(svinit, "tai64nlocal")
	cmd.Stdin = strings.NewReader(stamped)
	local, err := cmd.Output()
	require.NoError(t, err)
	require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} line 00001 `, string(local))
	iso, _ := ml("svinit", "T", "e", "-*")
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 00001 `, iso)
	out, code := ml("svinit", "bogus")
	require.Equal(t, 100, code)
	require.Contains(t, out, `multilog: usage: multilog script: unrecognized action: "bogus"`)
}

// logFiles lists a log directory's old files and returns everything logged,
// oldest first.
func logFiles(t *testing.T, dir string) ([]string, string) {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var old []string
	var all strings.Builder
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "@") {
			old = append(old, e.Name())
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			all.Write(b)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "current"))
	all.Write(b)
	return old, all.String()
}

// multilog on a full disk waits and retries: no line is lost once there is
// room again.
func TestMultilogFullDisk(t *testing.T) {
	mnt := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k"))
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	require.NoError(t, err)
	_, _ = f.Write(make([]byte, 1<<20)) // fills the disk (the write stops at ENOSPC)
	f.Close()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(svinit, "multilog", "s16384", "n20", filepath.Join(mnt, "log"))
	cmd.Stdin = pr
	stderr := &testkit.SyncBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	pr.Close()
	var want strings.Builder
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&want, "line %04d of the full disk test\n", i)
	}
	go func() { _, _ = pw.WriteString(want.String()); pw.Close() }()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "out of disk space") }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, os.Remove(filler))
	require.NoError(t, cmd.Wait())
	_, all := logFiles(t, filepath.Join(mnt, "log"))
	require.Equal(t, want.String(), all)
}

// --syslog: what daemons send to /dev/log reaches stdout with the program's
// tag, facility and severity (here on a socket of the test's own).
func TestSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	r := startTree(t, makeTree(t, map[string]files{}), "--syslog-socket", sock)
	require.Eventually(t, func() bool { _, err := os.Stat(sock); return err == nil }, 5*time.Second, 10*time.Millisecond)
	out, code := tool(t, "logger", "--socket", sock, "-t", "keepalived", "-p", "local6.info", "Entering MASTER STATE")
	require.Equal(t, 0, code, out)
	out, code = tool(t, "logger", "--socket", sock, "--rfc5424", "-t", "web", "-p", "daemon.err", "it broke")
	require.Equal(t, 0, code, out)
	r.waitOutput("keepalived: local6.info: Entering MASTER STATE\n")
	r.waitOutput("web: daemon.err: it broke\n")
}

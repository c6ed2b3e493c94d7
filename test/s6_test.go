//go:build system

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/supervisor/svdir"
)

// s6Services are the directories every s6 side-by-side test runs, the same
// files under s6-supervise and under svinit in s6 mode.
var s6Services = map[string]files{
	"plain":  {"run": sh("exec sleep 1000")},
	"notify": {"run": sh("sleep 0.3; echo >&3; exec sleep 1000"), "notification-fd": "3\n"},
	"finisher": {"run": sh("exec sleep 1000"),
		"finish": sh(`sleep 0.5; echo "$@" >> finish-args`)},
	"stubborn": {"run": sh("trap '' TERM; exec sleep 1000")},
	"perm":     {"run": sh("sleep 1; exit 3"), "finish": sh("exit 125")},
	"lazy":     {"run": sh("exec sleep 1000"), "down": ""},
}

// s6Side is one supervisor running the s6Services: s6-supervise (one per
// directory, started as s6-svscan would, from the parent with the relative
// name) or svinit with SVINIT_PROTOCOL=s6.
type s6Side struct {
	name string
	root string
}

func (s s6Side) dir(n string) string { return filepath.Join(s.root, n) }

func startS6Supervise(t *testing.T) s6Side {
	root := makeTree(t, s6Services)
	for name := range s6Services {
		cmd := exec.Command("s6-supervise", name)
		cmd.Dir = root
		require.NoError(t, cmd.Start())
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		dir := filepath.Join(root, name)
		t.Cleanup(func() {
			// x then k: it exits once ./run and ./finish are over
			_ = exec.Command("s6-svc", "-xk", dir).Run()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		})
	}
	return s6Side{name: "s6-supervise", root: root}
}

func startSvinitS6(t *testing.T) (s6Side, *run) {
	root := makeTree(t, s6Services)
	r := startNSEnv(t, []string{"SVINIT_PROTOCOL=s6"}, "-s", root, "--rescan", "0")
	return s6Side{name: "svinit", root: root}, r
}

var (
	taiRe = regexp.MustCompile(`^@4000[0-9a-f]{20}$`)
	numRe = regexp.MustCompile(`^[0-9]+$`)
)

// s6Fields are s6-svstat's -o fields; the ones that change from run to run
// are normalised, field by field.
var s6Fields = []string{"up", "wantedup", "normallyup", "ready", "paused", "pid", "exitcode", "signal", "signum",
	"updownsince", "readysince", "updownfor", "readyfor"}

// s6Stat is what Debian's s6-svstat prints for dir: plain (pids and seconds
// normalised), then each -o field; pids become P, TAI64N labels @TAI (after
// checking that they are within 10 s of the clock: the offset is s6's),
// seconds N.
func s6Stat(dir string) string {
	var b strings.Builder
	out, code := s6Run("s6-svstat", dir)
	b.WriteString(normalise(out, dir) + "[" + itoa(code) + "] ")
	for _, f := range s6Fields {
		out, _ := s6Run("s6-svstat", "-o", f, dir)
		v := strings.TrimSpace(out)
		switch {
		case f == "pid" && v != "-1" && numRe.MatchString(v):
			v = "P"
		case (f == "updownsince" || f == "readysince") && taiRe.MatchString(v):
			lb := make([]byte, 12)
			for i := range lb {
				var x byte
				for _, c := range v[1+2*i : 3+2*i] {
					x = x<<4 | byte(strings.IndexRune("0123456789abcdef", c))
				}
				lb[i] = x
			}
			if d := time.Since(svdir.UnpackTAI64N(lb)); d > -10*time.Second && d < 10*time.Minute {
				v = "@TAI"
			}
		case (f == "updownfor" || f == "readyfor") && numRe.MatchString(v):
			v = "N"
		}
		b.WriteString(f + "=" + v + " ")
	}
	return b.String()
}

// s6Run runs a Debian s6 client without a testing.T (it is called inside
// EventuallyWithT conditions).
func s6Run(argv ...string) (string, int) {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		return err.Error(), -1
	}
	return string(out), 0
}

// sameS6Stat waits until s6-svstat says the same of service n under both
// supervisors and returns it; msg names the step.
func sameS6Stat(t *testing.T, real, ours s6Side, n, msg string) string {
	t.Helper()
	var got string
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		want := s6Stat(real.dir(n))
		got = s6Stat(ours.dir(n))
		assert.Equal(c, want, got)
	}, 10*time.Second, 50*time.Millisecond, "%s: %s", n, msg)
	return got
}

// sameS6Tool runs a client against service n under both supervisors, one
// after the other, and requires the same output (pids, seconds and paths
// normalised) and exit code.
func sameS6Tool(t *testing.T, real, ours s6Side, n string, argv ...string) string {
	t.Helper()
	run := func(s s6Side) (string, int) {
		a := append(append([]string{}, argv...), s.dir(n))
		out, code := s6Run(a...)
		out = regexp.MustCompile(`@4000[0-9a-f]{20}`).ReplaceAllString(out, "@TAI")
		return strings.ReplaceAll(normalise(out, s.root), s.root, "ROOT"), code
	}
	wantOut, wantCode := run(real)
	gotOut, gotCode := run(ours)
	require.Equal(t, wantOut, gotOut, "%v %s", argv, n)
	require.Equal(t, wantCode, gotCode, "exit code of %v %s: %s", argv, n, gotOut)
	return gotOut + "[exit " + itoa(gotCode) + "]"
}

// Debian's s6-svok, s6-svstat (plain and every -o field), s6-svc (with -w
// and -T), s6-svwait say and do against svinit in s6 mode what they say
// and do against s6-supervise, on the same service directories.
func TestS6ClientsMatchS6Supervise(t *testing.T) {
	real := startS6Supervise(t)
	ours, _ := startSvinitS6(t)
	var log strings.Builder
	step := func(n, msg string) {
		log.WriteString(n + " " + msg + ": " + sameS6Stat(t, real, ours, n, msg) + "\n")
	}
	tool := func(n string, argv ...string) {
		log.WriteString(n + " $ " + strings.Join(argv, " ") + ": " + sameS6Tool(t, real, ours, n, argv...) + "\n")
	}

	for _, s := range []s6Side{real, ours} {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			for n := range s6Services {
				_, code := s6Run("s6-svok", s.dir(n))
				assert.Equal(c, 0, code, "%s: %s supervised", s.name, n)
			}
		}, 10*time.Second, 20*time.Millisecond)
	}
	// The start: up (no readiness without notification-fd), lazy down.
	for _, n := range []string{"plain", "notify", "finisher", "stubborn", "lazy"} {
		tool(n, "s6-svok")
	}
	step("plain", "up")
	// notify writes its newline 0.3 s after its start: wait for it on both
	// sides, or the step races with it.
	for _, s := range []s6Side{real, ours} {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			out, _ := s6Run("s6-svstat", "-o", "ready", s.dir("notify"))
			assert.Equal(c, "true\n", out, "%s: notify ready", s.name)
		}, 10*time.Second, 20*time.Millisecond)
	}
	step("notify", "up and ready")
	step("lazy", "down, normally down")

	// -wD -d: returns once down and ./finish is over.
	tool("finisher", "s6-svc", "-wD", "-d")
	step("finisher", "down after -wD -d")
	for _, s := range []s6Side{real, ours} {
		args, err := os.ReadFile(s.dir("finisher/finish-args"))
		require.NoError(t, err, "%s: ./finish ran before s6-svc -wD returned", s.name)
		require.Equal(t, "256 15 finisher\n", string(args), "%s: ./finish's arguments", s.name)
	}
	tool("finisher", "s6-svwait", "-t", "2000", "-D")
	tool("finisher", "s6-svc", "-wu", "-u")
	step("finisher", "up again")

	// -wU -u on a notification-fd service: returns once it said ready.
	tool("notify", "s6-svc", "-wd", "-d")
	step("notify", "down")
	tool("notify", "s6-svc", "-wU", "-u")
	for _, s := range []s6Side{real, ours} {
		out, _ := s6Run("s6-svstat", "-o", "up,ready", s.dir("notify"))
		require.Equal(t, "true true\n", out, "%s: ready when s6-svc -wU returned", s.name)
	}
	tool("notify", "s6-svwait", "-t", "2000", "-U")
	// -wU on a service without notification-fd: s6-svc warns, waits for up.
	tool("plain", "s6-svc", "-wU", "-u")

	// Pause and continue.
	tool("plain", "s6-svc", "-p")
	step("plain", "paused")
	tool("plain", "s6-svc", "-c")
	step("plain", "continued")

	// O: want down, nothing signalled; u: wanted up again.
	tool("plain", "s6-svc", "-O")
	step("plain", "up, want down (O)")
	tool("plain", "s6-svc", "-u")
	step("plain", "up, want up")

	// D and U: ./down made and removed.
	tool("plain", "s6-svc", "-wD", "-D")
	step("plain", "down, ./down made (D)")
	tool("plain", "s6-svc", "-wu", "-U")
	step("plain", "up, ./down removed (U)")

	// -T: a service that ignores TERM is not down in time.
	step("stubborn", "up")
	tool("stubborn", "s6-svc", "-T", "300", "-wD", "-d")
	step("stubborn", "up, want down")
	tool("stubborn", "s6-svwait", "-t", "200", "-d")
	tool("stubborn", "s6-svc", "-wD", "-k")
	step("stubborn", "down by KILL")

	// A ./finish that exits 125: failed for good ("O"), not restarted.
	step("perm", "down, not wanted up")
	tool("perm", "s6-svc", "-wu", "-u")
	step("perm", "up again (for 1 s)")
	for _, s := range []s6Side{real, ours} {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			out, _ := s6Run("s6-svstat", "-o", "up,wantedup", s.dir("perm"))
			assert.Equal(c, "false false\n", out, "%s: perm down for good", s.name)
		}, 10*time.Second, 20*time.Millisecond)
	}
	step("perm", "down for good again")

	// s6-svwait on a service already in the state returns at once.
	tool("lazy", "s6-svwait", "-t", "1000", "-d")
	tool("lazy", "s6-svwait", "-t", "300", "-u")
	tool("lazy", "s6-svc", "-wu", "-o")
	step("lazy", "up once")
	tool("lazy", "s6-svc", "-wD", "-k")
	step("lazy", "once: down after KILL")

	// death_tally: one 14-byte record a death, as s6-svdt reads it.
	for _, n := range []string{"plain", "stubborn", "lazy"} {
		tool(n, "s6-svdt", "-n", "5")
	}
	golden(t, "s6-clients.golden", regexp.MustCompile(`@4000[0-9a-f]{20}`).ReplaceAllString(log.String(), "@TAI"))
}

// A listener that never reads, or went away, cannot block svinit: events
// to a full FIFO are dropped, a FIFO nobody reads is removed, a live
// listener gets every event in order, and the service is still controlled.
func TestS6EventsNeverBlock(t *testing.T) {
	ours, _ := startSvinitS6(t)
	dir := ours.dir("plain")
	waitS6(t, dir, "true")
	ev := filepath.Join(dir, "event")
	fifo := func(tag string) string {
		p := filepath.Join(ev, "ftrig1:@400000006b17480d0cf2d04"+tag+":abcde"+tag)
		require.NoError(t, syscall.Mkfifo(p, 0o622))
		return p
	}
	stale := fifo("0")
	full, live := fifo("1"), fifo("2")
	fullR, err := syscall.Open(full, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
	require.NoError(t, err)
	defer syscall.Close(fullR)
	fullW, err := syscall.Open(full, syscall.O_WRONLY|syscall.O_NONBLOCK, 0)
	require.NoError(t, err)
	filler := make([]byte, 4096)
	for i := range filler {
		filler[i] = 'z'
	}
	for {
		if _, err := syscall.Write(fullW, filler); err != nil {
			require.ErrorIs(t, err, syscall.EAGAIN)
			break
		}
	}
	syscall.Close(fullW)
	liveR, err := syscall.Open(live, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
	require.NoError(t, err)
	defer syscall.Close(liveR)
	for i := 0; i < 5; i++ {
		out, code := s6Run("s6-svc", "-wD", "-d", dir)
		require.Equal(t, 0, code, out)
		out, code = s6Run("s6-svc", "-wu", "-u", dir)
		require.Equal(t, 0, code, out)
	}
	_, err = os.Stat(stale)
	require.True(t, os.IsNotExist(err), "a FIFO nobody reads is removed")
	_, err = os.Stat(full)
	require.NoError(t, err, "a full FIFO whose reader is alive stays")
	buf := make([]byte, 100)
	var got []byte
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if n, err := syscall.Read(liveR, buf); n > 0 && err == nil {
			got = append(got, buf[:n]...)
		}
		assert.Equal(c, strings.Repeat("dDu", 5), string(got), "down, finish done, up; five times")
	}, 5*time.Second, 20*time.Millisecond)
	n, err := syscall.Read(fullR, buf)
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("z", n), string(buf[:n]), "nothing was written into a full FIFO")

	// Garbage in the event directory and the control FIFO changes nothing.
	require.NoError(t, os.WriteFile(filepath.Join(ev, "ftrig1:@garbage-garbage-garbage-garba:xx"), []byte("x"), 0o600))
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(ev, "ftrig1:@400000006b17480d0cf2d047:mnopqr")))
	_, code := s6Run("sh", "-c", "printf 'zZ\\0\\377?' > "+filepath.Join(dir, "supervise/control"))
	require.Equal(t, 0, code)
	out, code := s6Run("s6-svc", "-wD", "-d", dir)
	require.Equal(t, 0, code, out)
	waitS6(t, dir, "false")
}

func waitS6(t *testing.T, dir, up string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		out, _ := s6Run("s6-svstat", "-o", "up", dir)
		assert.Equal(c, up+"\n", out)
	}, 10*time.Second, 20*time.Millisecond)
}

// svinit's own clients read an s6-format directory: svstat, sv status,
// svok, and svc drives it; svstat --json keeps svinit's own record.
func TestS6SvinitClients(t *testing.T) {
	ours, _ := startSvinitS6(t)
	dir := ours.dir("plain")
	waitS6(t, dir, "true")
	out, code := tool(t, "svinit", "svstat", dir)
	require.Equal(t, 0, code, out)
	require.Regexp(t, `^`+regexp.QuoteMeta(dir)+`: up \(pid \d+\) \d+ seconds\n$`, out)
	out, code = tool(t, "svinit", "sv", "status", dir)
	require.Equal(t, 0, code, out)
	require.Regexp(t, `^run: `+regexp.QuoteMeta(dir)+`: \(pid \d+\) \d+s$`, strings.TrimSpace(out))
	_, code = tool(t, "svinit", "svok", dir)
	require.Equal(t, 0, code)
	_, code = tool(t, "svinit", "svc", "-d", dir)
	require.Equal(t, 0, code)
	waitS6(t, dir, "false")
	st := statusOf(t, dir)
	require.Equal(t, "down", st.State)
	require.Equal(t, "signal 15 (SIGTERM)", st.LastExit)
	out, code = tool(t, "svinit", "sv", "status", dir)
	require.Equal(t, 0, code, out)
	require.Regexp(t, `^down: `+regexp.QuoteMeta(dir)+`: \d+s, normally up$`, strings.TrimSpace(out))
}

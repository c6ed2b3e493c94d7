package supervisor

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
	"golang.org/x/sys/unix"
)

// fdsPerService is about what svinit holds open per service: lock,
// control and ok, and the two output pipes (both ends while it runs).
const fdsPerService = 8

// ensureNofile raises RLIMIT_NOFILE (soft, and hard if need be: root may)
// so that n services fit, before they are opened: 10,000 services need
// ~80,000 fds, more than many hosts' default hard limit (4,096, 20,000).
// The services then inherit the raised limit (the Go runtime gives a child
// its original limit back only while svinit's is the one the runtime set).
// A limit that cannot be raised is reported once, naming it; the services
// that do not fit are refused one by one with "out of file descriptors".
func (s *Supervisor) ensureNofile(n int) {
	need := uint64(n*fdsPerService + 256)
	var cur unix.Rlimit
	if unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &cur) != nil {
		return
	}
	s.nofile = cur.Cur
	defer func() {
		if unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &cur) == nil {
			s.nofile = cur.Cur
		}
	}()
	if cur.Cur >= need {
		return
	}
	want := unix.Rlimit{Cur: need, Max: max(cur.Max, need)}
	if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, &want, nil); err != nil {
		if cur.Max > cur.Cur {
			want = unix.Rlimit{Cur: cur.Max, Max: cur.Max}
			_ = unix.Prlimit(0, unix.RLIMIT_NOFILE, &want, nil)
		}
		s.warnOnce("rlimit-nofile", fmt.Sprintf("%d services need about %d open files; RLIMIT_NOFILE is %d (hard %d) and cannot be raised: %s: some services will not start (raise it: ulimit -n, docker run --ulimit nofile=%d)",
			n, need, cur.Cur, cur.Max, errstr.Text(err), need))
	}
}

// fdReserve is what is kept free for the services that run: a start
// needs a few fds of its own (Go's exec pipe, a notification pipe, a probe).
const fdReserve = 64

// roomFor reports whether one more service fits under RLIMIT_NOFILE with
// fdReserve left; if not, it says so for that service, naming the limit.
// Opening services until the table is full would leave none to start them
// with.
func (s *Supervisor) roomFor(name string) bool {
	n := len(s.services) + s.loggers + 1
	if s.nofile == 0 || uint64(n*fdsPerService+fdReserve) <= s.nofile {
		return true
	}
	s.warnOnce(name, fmt.Sprintf("%s: not started: no room under RLIMIT_NOFILE %d for another service (about %d fds each, %d kept for starts)",
		name, s.nofile, fdsPerService, fdReserve))
	return false
}

// checkPids warns, once, when n services (each a process, most with a
// ./run that forks more) cannot fit under the pid limits svinit can see:
// kernel.pid_max (per PID namespace since Linux 6.14) and the cgroup's
// pids.max. A start that fails for it says "temporary failure" (EAGAIN);
// this names the limit. svinit does not raise them: pid_max is the host's
// on older kernels, and pids.max is the container engine's.
func (s *Supervisor) checkPids(n int) {
	need := n + 64
	for _, lim := range []struct{ file, name string }{
		{"/proc/sys/kernel/pid_max", "kernel.pid_max"},
		{"/sys/fs/cgroup/pids.max", "the cgroup's pids.max"},
	} {
		b, err := os.ReadFile(lim.file)
		if err != nil {
			continue
		}
		max, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || max >= need { // "max": no limit
			continue
		}
		s.warnOnce("limit "+lim.file, fmt.Sprintf("%d services need at least %d processes; %s (%s) is %d: some will fail to start with \"temporary failure\"",
			n, need, lim.name, lim.file, max))
	}
}

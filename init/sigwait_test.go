package pid1

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/reaper"
	"golang.org/x/sys/unix"
)

// The waiting thread passes a signal for the main command on itself when the
// loop has published it, hands TERM (while the loop has not) and any signal
// while no main command runs to the loop, drops wakeSig sent from outside,
// and stops when told. Signals go to the waiting thread alone (tgkill): the test binary
// is not PID 1. They are sent once the thread waits: the test binary has no
// os/signal handler for a signal that comes while it does not.
func TestSigWaiter(t *testing.T) {
	r := reaper.New()
	defer r.Close()
	toLoop := make(chan os.Signal, 4)
	tids := make(chan int)
	w := (*sigWaiter)(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w = newSigWaiter(false)
		tids <- w.tid
		w.wait(r, toLoop)
	}()
	tid := <-tids
	send := func(sig unix.Signal) {
		require.Eventually(t, func() bool { return inSigtimedwait(tid) }, 5*time.Second, time.Millisecond)
		require.NoError(t, unix.Tgkill(unix.Getpid(), tid, sig))
	}

	send(unix.SIGUSR1) // no main command yet: the loop decides
	require.Equal(t, os.Signal(unix.SIGUSR1), <-toLoop)

	ready := filepath.Join(t.TempDir(), "ready")
	p, err := r.Start(reaper.Spec{Path: "sh", Argv: []string{"sh", "-c", "trap 'exit 7' USR2; : > " + ready + "; while :; do sleep 0.01; done"}, Pgid: true})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := os.Stat(ready); return err == nil }, 5*time.Second, time.Millisecond)
	var running uint64 // what signalAction forwards while running
	for _, s := range ForwardableSignals() {
		if s != unix.SIGTERM && s != unix.SIGINT {
			running |= sigBit(s)
		}
	}
	w.publish(r, p, running)
	require.GreaterOrEqual(t, w.pidfd.Load(), int32(0), "a pidfd for the main command")
	send(unix.SIGTERM) // a shutdown is the loop's
	require.Equal(t, os.Signal(unix.SIGTERM), <-toLoop)
	send(wakeSig)      // not the loop's wake: dropped
	send(unix.SIGCONT) // straight to sh, which goes on
	send(unix.SIGUSR2) // straight to sh, whose trap exits 7
	select {
	case <-r.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("sh did not exit after USR2")
	}
	exits := r.Take()
	require.Len(t, exits, 1)
	require.Equal(t, 7, exits[0].Code())
	require.Empty(t, toLoop)

	w.stop()
	<-done
}

// inSigtimedwait reports whether thread tid of this process is in
// rt_sigtimedwait (first field of /proc/.../syscall).
func inSigtimedwait(tid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/syscall", tid))
	return err == nil && strings.HasPrefix(string(b), fmt.Sprintf("%d ", unix.SYS_RT_SIGTIMEDWAIT))
}

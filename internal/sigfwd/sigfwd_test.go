package sigfwd

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func bit(s unix.Signal) uint64 { return 1 << (uint(s) - 1) }

// waitOnThread runs WaitAndSend(set, fd, flags, direct) on a locked thread with set
// blocked and the pending signals already pending there (tgkill), so that
// the wait finds them at once; it returns what the wait returned. The
// checks are made here, on the test's goroutine.
func waitOnThread(t *testing.T, pending []unix.Signal, set *unix.Sigset_t, fd int, flags uint, direct uint64) (unix.Signal, unix.Errno) {
	type result struct {
		sig   unix.Signal
		errno unix.Errno
		err   error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		block := Set(pending...)
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, block, nil); err != nil {
			done <- result{err: err}
			return
		}
		defer unix.PthreadSigmask(unix.SIG_UNBLOCK, block, nil)
		for _, s := range pending {
			if err := unix.Tgkill(unix.Getpid(), unix.Gettid(), s); err != nil {
				done <- result{err: err}
				return
			}
		}
		sig, errno := WaitAndSend(set, fd, flags, direct)
		done <- result{sig: sig, errno: errno}
	}()
	r := <-done
	require.NoError(t, r.err)
	return r.sig, r.errno
}

func startSleep(t *testing.T) (*exec.Cmd, int) {
	c := exec.Command("sleep", "30")
	require.NoError(t, c.Start())
	fd, err := unix.PidfdOpen(c.Process.Pid, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return c, fd
}

// A direct signal goes through the pidfd and the wait goes on; the first
// other signal comes back.
func TestSendsDirectSignalsAndReturnsTheFirstOther(t *testing.T) {
	c, fd := startSleep(t)
	sig, errno := waitOnThread(t, []unix.Signal{unix.SIGUSR1, unix.SIGUSR2}, Set(unix.SIGUSR1, unix.SIGUSR2), fd, 0, bit(unix.SIGUSR1))
	require.Zero(t, errno)
	require.Equal(t, unix.SIGUSR2, sig)
	err := c.Wait()
	require.Error(t, err)
	require.Equal(t, syscall.SIGUSR1, c.ProcessState.Sys().(syscall.WaitStatus).Signal())
}

// Without a pidfd nothing is sent: the signal comes back.
func TestWithoutPidfdReturnsTheSignal(t *testing.T) {
	sig, errno := waitOnThread(t, []unix.Signal{unix.SIGUSR1}, Set(unix.SIGUSR1), -1, 0, bit(unix.SIGUSR1))
	require.Zero(t, errno)
	require.Equal(t, unix.SIGUSR1, sig)
}

// Once the process is gone, the send fails and the signal comes back: it
// never reaches a process that took the pid.
func TestGoneProcessReturnsTheSignal(t *testing.T) {
	c, fd := startSleep(t)
	require.NoError(t, c.Process.Kill())
	_ = c.Wait()
	sig, errno := waitOnThread(t, []unix.Signal{unix.SIGUSR1}, Set(unix.SIGUSR1), fd, 0, bit(unix.SIGUSR1))
	require.Zero(t, errno)
	require.Equal(t, unix.SIGUSR1, sig)
}

// A handled signal sent to the waiting thread (SIGURG, the runtime's own)
// ends the wait with EINTR.
func TestHandledSignalInterrupts(t *testing.T) {
	tids := make(chan int, 1)
	got := make(chan unix.Errno, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		set := Set(unix.SIGUSR1)
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, set, nil); err != nil {
			tids <- -1
			got <- err.(unix.Errno)
			return
		}
		defer unix.PthreadSigmask(unix.SIG_UNBLOCK, set, nil)
		tids <- unix.Gettid()
		_, errno := WaitAndSend(set, -1, 0, 0)
		got <- errno
	}()
	tid := <-tids
	if tid < 0 {
		require.Fail(t, "unable to block SIGUSR1", "%v", <-got)
	}
	var errno unix.Errno
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG) // until the wait has begun and ends
		select {
		case errno = <-got:
		default:
			assert.Fail(c, "the wait goes on")
		}
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, unix.EINTR, errno)
}

// With PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9) a direct signal reaches the
// whole process group the pidfd's process leads; a kernel without the flag
// refuses the send, and the signal comes back for the slower path.
func TestGroupFlagSignalsTheGroup(t *testing.T) {
	leader := exec.Command("sleep", "30")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, leader.Start())
	member := exec.Command("sleep", "30")
	member.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: leader.Process.Pid}
	require.NoError(t, member.Start())
	fd, err := unix.PidfdOpen(leader.Process.Pid, 0)
	require.NoError(t, err)
	defer unix.Close(fd)
	supported := unix.PidfdSendSignal(fd, 0, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP) == nil
	sig, _ := waitOnThread(t, []unix.Signal{unix.SIGUSR1, unix.SIGUSR2}, Set(unix.SIGUSR1, unix.SIGUSR2), fd, unix.PIDFD_SIGNAL_PROCESS_GROUP, bit(unix.SIGUSR1))
	if !supported {
		require.Equal(t, unix.SIGUSR1, sig)
		_ = unix.Kill(-leader.Process.Pid, unix.SIGUSR1)
	} else {
		require.Equal(t, unix.SIGUSR2, sig)
	}
	for _, c := range []*exec.Cmd{leader, member} {
		require.Error(t, c.Wait())
		require.Equal(t, syscall.SIGUSR1, c.ProcessState.Sys().(syscall.WaitStatus).Signal())
	}
}

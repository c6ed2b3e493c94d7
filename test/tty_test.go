//go:build system

package test

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPty returns a new pseudo-terminal's master and slave.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// With a controlling terminal on stdin, the main command's process group
// becomes the terminal's foreground group, as with tini.
func TestTTYForeground(t *testing.T) {
	master, slave := openPty(t)
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", svinit, "--"}, helper("tty")...)
	cmd := exec.Command("unshare", argv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, cmd.Start())
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		require.Equal(t, "tty: foreground=true session-leader=false", strings.TrimSpace(l))
	case <-time.After(10 * time.Second):
		t.Fatal("no output from the main command on the terminal")
	}
	require.NoError(t, cmd.Wait())
}

// SIGTTIN and SIGTTOU never stop svinit, and are not passed on.
func TestJobControlSignalsDoNotStopInit(t *testing.T) {
	r := startNS(t, "sleep", "1000")
	pid := r.initPid()
	waitForChildComm(t, pid, "sleep")
	r.signal(syscall.SIGTTIN)
	r.signal(syscall.SIGTTOU)
	r.signal(syscall.SIGUSR1) // forwarded: kills sleep
	require.Equal(t, 128+int(syscall.SIGUSR1), r.wait(10*time.Second))
}

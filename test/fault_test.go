//go:build system

package test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/supervisor/svdir"
)

// 1 MiB of random bytes into a control FIFO: svinit survives, reports the
// garbage a batch at a time, and the other service is untouched.
func TestControlGarbage(t *testing.T) {
	root := makeTree(t, map[string]files{
		"victim": {"run": sh("trap '' HUP INT ALRM QUIT USR1 USR2 TERM; while :; do sleep 0.05; done")},
		"other":  {"run": sh("exec sleep 1000")},
	})
	addr := freeAddr(t)
	r := startTree(t, root, "--http", addr)
	other := waitState(t, filepath.Join(root, "other"), isUp, "up")
	victim := filepath.Join(root, "victim")
	waitState(t, victim, isUp, "up")
	before := readFootprint(t, addr, r.initPid())
	garbage := make([]byte, 1<<20)
	_, _ = rand.Read(garbage)
	for i := range garbage { // no k, x or d: the victim must stay up to be checked
		switch garbage[i] {
		case 'k', 'x', 'd', 'o', 'p', 't':
			garbage[i] = '?'
		}
	}
	require.NoError(t, svdir.Control(victim, garbage))
	require.Eventually(t, func() bool {
		return strings.Contains(r.stderr.String(), victim+"/supervise/control: ignored")
	}, 10*time.Second, 20*time.Millisecond)
	_, _ = tool(t, "svc", "-d", victim)
	_, _ = tool(t, "svc", "-k", victim)
	waitState(t, victim, isDown, "still controlled after the garbage")
	now := statusOf(t, filepath.Join(root, "other"))
	require.Equal(t, other.Pid, now.Pid, "the other service was not touched")
	require.Less(t, strings.Count(r.stderr.String(), "ignored"), 3000, "one warning per read, not per byte")
	requireBounded(t, addr, r.initPid(), before)
}

// 10,000 HUPs to PID 1 (each a rescan) while a service restarts: svinit
// carries on and still stops cleanly.
func TestSignalFlood(t *testing.T) {
	root := makeTree(t, map[string]files{
		"steady": {"run": sh("exec sleep 1000")},
		"crashy": {"run": sh("sleep 0.05; exit 1")},
	})
	addr := freeAddr(t)
	r := startTree(t, root, "--http", addr)
	waitState(t, filepath.Join(root, "steady"), isUp, "up")
	pid := r.initPid()
	before := readFootprint(t, addr, pid)
	for i := 0; i < 10000; i++ {
		require.NoError(t, syscall.Kill(pid, syscall.SIGHUP))
	}
	st := waitState(t, filepath.Join(root, "steady"), isUp, "still up")
	require.Zero(t, st.Restarts)
	requireBounded(t, addr, pid, before)
	r.signal(syscall.SIGTERM)
	require.Equal(t, 0, r.wait(10*time.Second))
}

// A service directory removed and put back 100 times quickly ends up
// supervised once, up, with no process left behind.
func TestRemoveReadd(t *testing.T) {
	root := makeTree(t, map[string]files{})
	addr := freeAddr(t)
	r := startTree(t, root, "--http", addr)
	stash := t.TempDir()
	writeService(t, filepath.Join(root, "flappy"), files{"run": sh("exec sleep 1000")})
	waitState(t, filepath.Join(root, "flappy"), isUp, "up")
	before := readFootprint(t, addr, r.initPid())
	require.NoError(t, os.Rename(filepath.Join(root, "flappy"), filepath.Join(stash, "flappy")))
	for i := 0; i < 100; i++ {
		require.NoError(t, os.Rename(filepath.Join(stash, "flappy"), filepath.Join(root, "flappy")))
		time.Sleep(time.Millisecond)
		require.NoError(t, os.Rename(filepath.Join(root, "flappy"), filepath.Join(stash, "flappy")))
	}
	require.NoError(t, os.Rename(filepath.Join(stash, "flappy"), filepath.Join(root, "flappy")))
	waitState(t, filepath.Join(root, "flappy"), isUp, "up after the flapping")
	pid := r.initPid() // not in the condition: it calls require
	require.Eventually(t, func() bool {
		n := 0
		for _, c := range children(pid) {
			if b, _ := os.ReadFile("/proc/" + itoa(c) + "/comm"); string(b) == "sleep\n" {
				n++
			}
		}
		return n == 1
	}, 10*time.Second, 50*time.Millisecond, "one sleep, the others stopped")
	requireBounded(t, addr, r.initPid(), before)
}

// 1,000 clients writing commands at once: every svc returns, svinit keeps
// the service under control.
func TestManyClients(t *testing.T) {
	root := makeTree(t, map[string]files{"s": {"run": sh("trap '' HUP; exec sleep 1000")}})
	addr := freeAddr(t)
	r := startTree(t, root, "--http", addr)
	dir := filepath.Join(root, "s")
	waitState(t, dir, isUp, "up")
	before := readFootprint(t, addr, r.initPid())
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- svdir.Control(dir, []byte("h"))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, _ = tool(t, "svc", "-d", dir)
	waitState(t, dir, isDown, "down after the flood")
	requireBounded(t, addr, r.initPid(), before)
}

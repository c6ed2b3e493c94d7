package pid1

import (
	"bytes"
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// descendants lists every process below root in the process tree, read from
// /proc. svinit only ever signals these: never kill(-1), which as a sidecar
// would reach processes it did not start.
func descendants(root int) []int {
	children := map[int][]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentOf reads the ppid field of /proc/PID/stat (the fourth field, counted
// after the command name, which may itself hold spaces and parentheses).
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(string(f[1]))
	return ppid, err == nil
}

// signalTree sends sig to every descendant of svinit, and CONT after TERM
// so a stopped process can act on it. It returns how many it signalled.
// The shutdown sends TERM only once every service has exited (init.go's
// progress), so it reaches orphans and what services left behind.
//
// Each process is pinned with a pidfd first and then checked to be still
// in the tree (its parent is svinit or one of the processes read): a pid
// read from /proc that was reaped and reused meanwhile is not signalled.
func signalTree(sig unix.Signal) int {
	n := 0
	self := os.Getpid()
	procs := descendants(self)
	inTree := map[int]bool{self: true}
	for _, p := range procs {
		inTree[p] = true
	}
	for _, p := range procs {
		fd, err := unix.PidfdOpen(p, 0)
		if err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue // gone
			}
			fd = -1 // no pidfds here: the plain kill below
		}
		if ppid, ok := parentOf(p); !ok || !inTree[ppid] {
			if fd >= 0 {
				unix.Close(fd)
			}
			continue
		}
		n++
		send(fd, p, sig)
		if sig == unix.SIGTERM {
			send(fd, p, unix.SIGCONT)
		}
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	return n
}

// send signals p through its pidfd fd, or by pid where there is none.
func send(fd, p int, sig unix.Signal) {
	if fd >= 0 {
		_ = unix.PidfdSendSignal(fd, sig, nil, 0)
		return
	}
	_ = unix.Kill(p, sig)
}

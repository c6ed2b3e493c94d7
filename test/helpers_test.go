//go:build system

package test

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	pid1 "github.com/svinit/svinit/init"
	"golang.org/x/sys/unix"
)

// helpers are the programs this test binary becomes, by name (helper(),
// registered with reexec by isHelper).
var helpers = map[string]func(args []string) int{
	"exit":      func(a []string) int { n, _ := strconv.Atoi(a[0]); return n },
	"catch":     helperCatch,
	"storm":     helperStorm,
	"storm-mid": helperStormMid,
	"daemon":    helperDaemon,
	"stubborn":  helperStubborn,
	"wrap":      helperWrap,
	"tty":       helperTTY,
	"group":     helperGroup,
	"orphan":    helperOrphan,
	"orphan-mid": func(a []string) int {
		c := helperCmd("orphan-leaf", a[0], strconv.Itoa(os.Getpid()))
		_ = c.Start()
		return 0
	},
	"orphan-leaf": helperOrphanLeaf,
	"firehose":    helperFirehose,
}

// firehoseLine is one line of helperFirehose's output (99 bytes + newline).
var firehoseLine = strings.Repeat("0123456789", 9) + "012345678\n"

// helperFirehose writes lines at MB megabytes a second for SECS seconds,
// then "done N" with the number of lines.
func helperFirehose(args []string) int {
	mb, _ := strconv.Atoi(args[0])
	secs, _ := strconv.Atoi(args[1])
	chunk := []byte(strings.Repeat(firehoseLine, 655))
	rate := float64(mb) * 1e6
	began, written, lines := time.Now(), 0, 0
	for time.Since(began) < time.Duration(secs)*time.Second {
		if _, err := os.Stdout.Write(chunk); err != nil {
			return 1
		}
		written += len(chunk)
		lines += 655
		if ahead := time.Duration(float64(written)/rate*1e9) - time.Since(began); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	fmt.Printf("done %d\n", lines)
	return 0
}

// helperCatch prints "got N" for every forwardable signal it receives and
// exits 0 after COUNT of them.
func helperCatch(args []string) int {
	count, _ := strconv.Atoi(args[0])
	ch := make(chan os.Signal, 100)
	for _, s := range pid1.ForwardableSignals() {
		signal.Notify(ch, s)
	}
	fmt.Println("ready")
	for i := 0; i < count; i++ {
		s := <-ch
		fmt.Printf("got %d\n", int(s.(syscall.Signal)))
	}
	return 0
}

// helperStorm starts storm-mid, which double-forks N grandchildren that exit
// at once: N orphans for PID 1. It then waits until no
// zombie is left in the namespace and exits 7 (or 99 if zombies remain).
func helperStorm(args []string) int {
	mid := helperCmd("storm-mid", args...)
	if err := mid.Run(); err != nil {
		fmt.Println("storm-mid:", err)
		return 98
	}
	// Zombies left must keep going: 10 s with none reaped is a failure,
	// however slow the machine.
	least, since := zombiesInProc(), time.Now()
	for time.Since(since) < 10*time.Second {
		z := zombiesInProc()
		if z == 0 {
			fmt.Println("no zombies")
			return 7
		}
		if z < least {
			least, since = z, time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Println("zombies left:", zombiesInProc())
	return 99
}

// helperStormMid makes N orphans; with a second argument it writes how many
// it has made so far into that file every 100.
func helperStormMid(args []string) int {
	n, _ := strconv.Atoi(args[0])
	runtime.LockOSThread()
	for i := 0; i < n; i++ {
		if len(args) > 1 && i%100 == 0 {
			_ = os.WriteFile(args[1]+".tmp", []byte(strconv.Itoa(i)), 0o644)
			_ = os.Rename(args[1]+".tmp", args[1])
		}
		// Fork A; A forks B and exits at once; B exits at once, an orphan.
		a, _, errno := syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
		if errno != 0 {
			return 97
		}
		if a == 0 {
			syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(int(a), &ws, 0, nil)
	}
	if len(args) > 1 {
		_ = os.WriteFile(args[1]+".tmp", []byte(strconv.Itoa(n)), 0o644)
		_ = os.Rename(args[1]+".tmp", args[1])
	}
	return 0
}

// zombiesInProc counts zombie processes in this PID namespace's /proc.
func zombiesInProc() int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 && len(s) > i+2 && s[i+2] == 'Z' {
			n++
		}
	}
	return n
}

// helperDaemon starts "stubborn FILE" in a session of its own and exits 0:
// the classic double-forked daemon that outlives the main command.
func helperDaemon(args []string) int {
	c := helperCmd("stubborn", args...)
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return 98
	}
	for i := 0; i < 1000; i++ {
		if _, err := os.Stat(args[0]); err == nil {
			return 0
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 97
}

// helperStubborn writes "ready" to FILE, then appends "TERM" each time it gets
// SIGTERM. With a second argument "polite" it exits on TERM instead.
func helperStubborn(args []string) int {
	ch := make(chan os.Signal, 10)
	signal.Notify(ch, syscall.SIGTERM)
	f, err := os.OpenFile(args[0], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 98
	}
	fmt.Fprintln(f, "ready")
	for range ch {
		fmt.Fprintln(f, "TERM")
		if len(args) > 1 && args[1] == "polite" {
			return 0
		}
	}
	return 0
}

// helperWrap blocks SIGUSR1, ignores SIGINT and SIGHUP, leaves fd 5 open
// without close-on-exec, then executes ARGS: a parent that hands svinit a
// dirty state.
func helperWrap(args []string) int {
	runtime.LockOSThread()
	var set unix.Sigset_t
	set.Val[0] = 1 << (uint(syscall.SIGUSR1) - 1)
	_ = unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP} {
		act := [4]uint64{1} // SIG_IGN
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
	fd, _ := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
	_ = syscall.Dup2(fd, 5)
	err := syscall.Exec(args[0], args, os.Environ())
	fmt.Fprintln(os.Stderr, "wrap:", err)
	return 98
}

// helperTTY says whether its process group is the terminal's foreground.
func helperTTY(args []string) int {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil {
		fmt.Println("tty: no terminal:", err)
		return 1
	}
	fmt.Printf("tty: foreground=%v session-leader=%v\n", fg == syscall.Getpgrp(), sid(0) == os.Getpid())
	return 0
}

// helperGroup catches USR1 and starts a child in its own process group that
// does the same; each writes who got it to FILE. It exits 0 once it got USR1
// and its child is done.
func helperGroup(args []string) int {
	file := args[0]
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	role := "parent"
	if len(args) > 1 {
		role = "child"
	}
	var child *exec.Cmd
	if role == "parent" {
		child = helperCmd("group", file, "child")
		child.Stdout = os.Stdout
		_ = child.Start()
	}
	fmt.Println(role, "ready")
	select {
	case <-ch:
		f, _ := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		fmt.Fprintln(f, role, "USR1")
		f.Close()
	case <-time.After(2 * time.Second):
	}
	if child != nil {
		// Give the child a second to get its own USR1 and exit.
		t := time.AfterFunc(time.Second, func() { _ = child.Process.Signal(syscall.SIGTERM) })
		_ = child.Wait()
		t.Stop()
	}
	return 0
}

// helperOrphan makes a grandchild that is orphaned, records who adopted it in
// FILE, and exits 0 once no zombie child of svinit is left (3 if one stays).
func helperOrphan(args []string) int {
	if err := helperCmd("orphan-mid", args[0]).Run(); err != nil {
		return 98
	}
	for i := 0; i < 1000; i++ {
		if b, _ := os.ReadFile(args[0]); strings.HasSuffix(string(b), "\n") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := 0; i < 1000; i++ {
		if zombieChildren(os.Getppid()) == 0 {
			return 0
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 3
}

func helperOrphanLeaf(args []string) int {
	mid, _ := strconv.Atoi(args[1])
	for os.Getppid() == mid {
		time.Sleep(time.Millisecond)
	}
	_ = os.WriteFile(args[0], []byte(strconv.Itoa(os.Getppid())+"\n"), 0o644)
	return 0
}

func sid(pid int) int { s, _ := unix.Getsid(pid); return s }

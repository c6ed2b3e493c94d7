// Command healthbench measures what health probing costs the supervisor:
// svinit with 100 services probed every second by the built-in TCP probe
// (health-tcp: a connect, no fork), the built-in HTTP probe (health-http:
// a GET to a small server here), then by an exec probe (./health, a
// script that runs `nc -z` against the same port: fork+exec+wait), against
// the same checks done by the do-it-yourself peer, a shell loop that runs
// `nc -z`, or the same ./health script (sh -c), 100 times every second.
// Every probe of every case connects to one listener here, which counts
// them: the per-probe figures divide by the probes that were made, not by
// the ones asked for.
// Each is measured over a window after a warm-up: the CPU time of the
// process itself — svinit's threads, or the shell's — from
// /proc/PID/task/*/schedstat (ns; the probes' children are not in it), the
// same from /proc/PID/stat utime+stime (ticks; cutime+cstime, the reaped
// children, shown apart), and its wake-ups (times a thread was put on a
// CPU). svinit with 100 services and no probe is the baseline subtracted
// for the per-probe figures. Three Go loops without a supervisor (this
// program again, -loop) are the floors: a net.DialTimeout + Close, the
// bare system calls of svinit's TCP probe, and syscall.ForkExec + Wait4
// of the same script — where the time goes. With -before OLD, each probe
// case of an older build is measured right before the same case of
// -svinit: before/after side by side in one run.
//
// Run as root: go run ./bench/healthbench -svinit PATH [-before OLD] [-window 20s -warmup 3s]
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/svinit/svinit/bench/internal/procs"
	"golang.org/x/sys/unix"
)

var (
	svinitPath = flag.String("svinit", "svinit", "svinit binary (the release build)")
	window     = flag.Duration("window", 30*time.Second, "measurement window per case")
	warmup     = flag.Duration("warmup", 5*time.Second, "wait before each window")
	services   = flag.Int("n", 100, "services (probes per second)")
	before     = flag.String("before", "", "another svinit binary (an older build): its probe cases are measured too, each right before the same case of -svinit")
	loop       = flag.String("loop", "", "internal: run the Go floor loop (dial or exec) against -target")
	target     = flag.String("target", "", "internal: host:port (dial) or the script (exec)")
)

// goLoop is the floor of each kind of probe in Go, without a supervisor
// around it: every second, n checks one after the other on one goroutine —
// a net.DialTimeout and Close; the system calls of svinit's TCP probe
// (a non-blocking socket, connect, connect again, close); or
// syscall.ForkExec of the script and Wait4 (Go's fork+exec+wait).
func goLoop(kind, target string, n int) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	must(err)
	attr := &syscall.ProcAttr{Files: []uintptr{null.Fd(), null.Fd(), null.Fd()}}
	sa := &unix.SockaddrInet4{}
	if ap, err := netip.ParseAddrPort(target); err == nil {
		sa.Port, sa.Addr = int(ap.Port()), ap.Addr().As4()
	}
	for {
		round := time.Now()
		for i := 0; i < n; i++ {
			switch kind {
			case "dial":
				if c, err := net.DialTimeout("tcp", target, 5*time.Second); err == nil {
					c.Close()
				}
				continue
			case "connect":
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
				must(err)
				if err := unix.Connect(fd, sa); err == unix.EINPROGRESS {
					_ = unix.Connect(fd, sa) // EISCONN: a loopback connect is done at once
				}
				unix.Close(fd)
				continue
			}
			pid, err := syscall.ForkExec(target, []string{target}, attr)
			must(err)
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
		time.Sleep(time.Until(round.Add(time.Second)))
	}
}

// sample is a process's counters at one time.
type sample struct {
	ns            int64 // schedstat: time on CPU of its threads
	ticks, cticks int64 // /proc/PID/stat: utime+stime, cutime+cstime
	runs          int64 // schedstat: times put on a CPU
}

func read(pid int) sample {
	s := sample{ns: procs.CPUTime(pid), runs: procs.Runs(pid)}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if i := strings.LastIndexByte(string(b), ')'); i > 0 {
		f := strings.Fields(string(b)[i+2:]) // f[0] is field 3 (state)
		n := func(k int) int64 { v, _ := strconv.ParseInt(f[k-3], 10, 64); return v }
		s.ticks, s.cticks = n(14)+n(15), n(16)+n(17)
	}
	return s
}

// result is one case over the window.
type result struct {
	name               string
	cpu, cpuStat, kids time.Duration // own (schedstat), own (stat), children (stat)
	runs               int64
	probes             int64 // connections the listener accepted in the window
}

// accepts counts the connections the probes made to the listener.
var accepts atomic.Int64

// measure starts cmd, waits the warm-up, and reads pid's counters over the
// window.
func measure(name string, cmd *exec.Cmd) result {
	cmd.Stdout, cmd.Stderr = nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "healthbench: %s: %v\n", name, err)
		os.Exit(1)
	}
	pid := cmd.Process.Pid
	defer func() {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		time.Sleep(time.Second) // what it leaves behind settles
	}()
	time.Sleep(*warmup)
	a, p0 := read(pid), accepts.Load()
	time.Sleep(*window)
	b, p1 := read(pid), accepts.Load()
	tick := time.Second / 100 // USER_HZ
	return result{name: name, cpu: time.Duration(b.ns - a.ns), cpuStat: time.Duration(b.ticks-a.ticks) * tick,
		kids: time.Duration(b.cticks-a.cticks) * tick, runs: b.runs - a.runs, probes: p1 - p0}
}

// tree writes n services; probe adds each one's probe files.
func tree(root string, n int, probe func(dir string)) {
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%03d", i))
		must(os.MkdirAll(dir, 0o755))
		must(os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nexec sleep 1000000\n"), 0o755))
		if probe != nil {
			probe(dir)
		}
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthbench: %v\n", err)
		os.Exit(1)
	}
}

func main() {
	flag.Parse()
	if *loop != "" {
		goLoop(*loop, *target, *services)
		return
	}
	abs, _ := filepath.Abs(*svinitPath)
	self, err := os.Executable()
	must(err)
	tmp, err := os.MkdirTemp("", "healthbench-")
	must(err)
	defer os.RemoveAll(tmp)

	// The port every TCP probe connects to: accepted and closed here.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	host, port, _ := strings.Cut(addr, ":")
	// The port the HTTP probes GET from: a status line, then the close.
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go func() {
		for {
			c, err := hln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			go func() {
				buf := make([]byte, 512)
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				for n := 0; !strings.Contains(string(buf[:n]), "\r\n\r\n") && n < len(buf); {
					m, err := c.Read(buf[n:])
					if err != nil {
						break
					}
					n += m
				}
				_, _ = c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
				c.Close()
			}()
		}
	}()
	haddr := hln.Addr().String()
	n := *services

	// The exec probe: the same check as a script (fork+exec+wait; the
	// script and nc are the children, not counted in the parent's CPU).
	script := filepath.Join(tmp, "probe")
	must(os.WriteFile(script, []byte("#!/bin/sh\nexec nc -z "+host+" "+port+"\n"), 0o755))

	var old string
	if *before != "" {
		old, _ = filepath.Abs(*before)
	}
	run := func(bin, name string, probe func(dir string)) result {
		root, err := os.MkdirTemp(tmp, "tree")
		must(err)
		tree(root, n, probe)
		return measure(name, exec.Command(bin, "-s", root, "--rescan", "0"))
	}
	svinit := func(name string, probe func(dir string)) result { return run(abs, name, probe) }
	// svinits is a probe case of -svinit, after the same of -before if any.
	svinits := func(name string, probe func(dir string)) []result {
		var rs []result
		if old != "" {
			rs = append(rs, run(old, strings.Replace(name, "svinit", "svinit -before", 1), probe))
		}
		return append(rs, svinit(name, probe))
	}
	// The do-it-yourself peer: a shell that runs the n checks one after
	// the other and starts the next round a second after this one began.
	shell := func(name, check string) result {
		loop := fmt.Sprintf("while :; do sleep 1 & i=0; while [ $i -lt %d ]; do %s; i=$((i+1)); done; wait; done", n, check)
		return measure(name, exec.Command("/bin/sh", "-c", loop))
	}
	every := func(dir string) {
		must(os.WriteFile(filepath.Join(dir, "health-interval"), []byte("1s\n"), 0o644))
	}
	fmt.Printf("healthbench: %s, %d CPUs, kernel %s; %d services, one probe each a second; %v windows after %v\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), procs.Kernel(), n, *window, *warmup)
	idle := svinit("svinit, no probe (baseline)", nil)
	results := []result{idle}
	results = append(results, svinits("svinit, built-in TCP probe (health-tcp)", func(dir string) {
		must(os.WriteFile(filepath.Join(dir, "health-tcp"), []byte(addr+"\n"), 0o644))
		every(dir)
	})...)
	results = append(results, svinits("svinit, built-in HTTP probe (health-http)", func(dir string) {
		must(os.WriteFile(filepath.Join(dir, "health-http"), []byte("http://"+haddr+"/healthz\n"), 0o644))
		every(dir)
	})...)
	results = append(results, svinits("svinit, exec probe (./health: sh, nc -z)", func(dir string) {
		must(os.Symlink(script, filepath.Join(dir, "health")))
		every(dir)
	})...)
	results = append(results,
		shell("shell loop: nc -z (do it yourself)", "nc -z "+host+" "+port),
		shell("shell loop: the ./health script (do it yourself)", script),
		measure("Go loop: net.DialTimeout + Close (floor of a TCP probe)",
			exec.Command(self, "-loop", "dial", "-target", addr, "-n", strconv.Itoa(n))),
		measure("Go loop: non-blocking socket + connect + close (the system calls of svinit's TCP probe)",
			exec.Command(self, "-loop", "connect", "-target", addr, "-n", strconv.Itoa(n))),
		measure("Go loop: ForkExec + Wait4 of ./health (Go's fork+exec+wait)",
			exec.Command(self, "-loop", "exec", "-target", script, "-n", strconv.Itoa(n))),
	)
	perMin := func(d time.Duration) string {
		return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)*60/window.Seconds())
	}
	fmt.Println("| case | probes per s | own CPU, ms/min (schedstat) | own CPU, ms/min (utime+stime) | children's CPU, ms/min (cutime+cstime) | own CPU per probe, µs (svinit: less the baseline) | wake-ups per s |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for i, r := range results {
		per := "—"
		cpu := r.cpu
		if strings.HasPrefix(r.name, "svinit") {
			cpu -= idle.cpu
		}
		if i > 0 && r.probes > 0 {
			per = fmt.Sprintf("%.1f", float64(cpu)/float64(time.Microsecond)/float64(r.probes))
		}
		fmt.Printf("| %s | %.0f | %s | %s | %s | %s | %.0f |\n", r.name, float64(r.probes)/window.Seconds(), perMin(r.cpu),
			perMin(r.cpuStat), perMin(r.kids), per, float64(r.runs)/window.Seconds())
	}
}

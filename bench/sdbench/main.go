// Command sdbench compares svinit's supervisord drop-in with Debian's
// supervisord on the same configuration of N programs: memory (Pss of the
// supervisor), start-up to all RUNNING, restart after kill -9, the status
// round trip (one getAllProcessInfo, and Debian's supervisorctl status),
// and idle CPU. It prints a Markdown table. Run as root.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svinit/svinit/internal/supervisord"
)

type result struct {
	pss                        int // KiB
	startup, restart, rpc, ctl time.Duration
	idleCPU                    float64 // % of one CPU
}

func main() {
	svinit := flag.String("svinit", "svinit", "the svinit binary")
	counts := flag.String("n", "10,100", "program counts")
	idle := flag.Duration("idle", 10*time.Second, "idle CPU window")
	flag.Parse()
	fmt.Println("| programs | supervisor | Pss (KiB) | start-up to all RUNNING | restart after kill -9 | getAllProcessInfo | `supervisorctl status` | idle CPU |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, c := range strings.Split(*counts, ",") {
		n, _ := strconv.Atoi(c)
		res := map[string]result{}
		for _, side := range []string{"supervisord", "svinit"} {
			r, err := run(side, *svinit, n, *idle)
			if err != nil {
				fmt.Fprintf(os.Stderr, "sdbench: %s, %d programs: %v\n", side, n, err)
				os.Exit(1)
			}
			res[side] = r
			fmt.Printf("| %d | %s | %d | %s | %s | %s | %s | %.2f%% |\n", n, side, r.pss, ms(r.startup), ms(r.restart), ms(r.rpc), ms(r.ctl), r.idleCPU)
		}
		a, b := res["supervisord"], res["svinit"]
		fmt.Printf("| %d | ratio | %.1f× less | %.1f× faster | %.1f× faster | %.1f× faster | %.1f× faster | |\n", n,
			float64(a.pss)/float64(b.pss), ratio(a.startup, b.startup), ratio(a.restart, b.restart), ratio(a.rpc, b.rpc), ratio(a.ctl, b.ctl))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func conf(dir string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[unix_http_server]\nfile=%s/s.sock\n[supervisorctl]\nserverurl=unix://%s/s.sock\n", dir, dir)
	b.WriteString("[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n")
	fmt.Fprintf(&b, "[supervisord]\nlogfile=%s/supervisord.log\npidfile=%s/supervisord.pid\n", dir, dir)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[program:p%03d]\ncommand=/bin/sleep 1000000\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n", i)
	}
	return b.String()
}

func run(side, svinit string, n int, idle time.Duration) (result, error) {
	var r result
	dir, err := os.MkdirTemp("", "sdbench-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(conf(dir, n)), 0o644); err != nil {
		return r, err
	}
	var cmd *exec.Cmd
	if side == "supervisord" {
		cmd = exec.Command("supervisord", "-n", "-c", path)
	} else {
		cmd = exec.Command(svinit, "--supervisord", path, "--svinit-dir", filepath.Join(dir, "tree"))
	}
	cmd.Dir = dir
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	c := &supervisord.Client{Socket: filepath.Join(dir, "s.sock")}
	allRunning := func() (map[string]int, bool) {
		v, err := c.Call("supervisor.getAllProcessInfo")
		if err != nil {
			return nil, false
		}
		pids := map[string]int{}
		l, _ := v.([]any)
		for _, e := range l {
			m, _ := e.(map[string]any)
			if m["statename"] != "RUNNING" {
				return nil, false
			}
			pids[m["name"].(string)], _ = m["pid"].(int)
		}
		return pids, len(pids) == n
	}
	var pids map[string]int
	for {
		var ok bool
		if pids, ok = allRunning(); ok {
			break
		}
		if time.Since(began) > 2*time.Minute {
			return r, fmt.Errorf("not all RUNNING after 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.startup = time.Since(began)
	time.Sleep(2 * time.Second)
	r.pss = pss(cmd.Process.Pid)

	// restart after kill -9: the median of 5
	var restarts []time.Duration
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("p%03d", i)
		old := pids[name]
		t0 := time.Now()
		_ = syscall.Kill(old, syscall.SIGKILL)
		for {
			v, err := c.Call("supervisor.getProcessInfo", name)
			if err == nil {
				m := v.(map[string]any)
				if p, _ := m["pid"].(int); p != 0 && p != old && m["statename"] == "RUNNING" {
					break
				}
			}
			if time.Since(t0) > time.Minute {
				return r, fmt.Errorf("%s not restarted after a minute", name)
			}
			time.Sleep(time.Millisecond)
		}
		restarts = append(restarts, time.Since(t0))
	}
	r.restart = median(restarts)

	var rpcs, ctls []time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if _, err := c.Call("supervisor.getAllProcessInfo"); err != nil {
			return r, err
		}
		rpcs = append(rpcs, time.Since(t0))
	}
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		_ = exec.Command("supervisorctl", "-c", path, "status").Run()
		ctls = append(ctls, time.Since(t0))
	}
	r.rpc, r.ctl = median(rpcs), median(ctls)

	time.Sleep(time.Second)
	t0, c0 := time.Now(), cpuTicks(cmd.Process.Pid)
	time.Sleep(idle)
	r.idleCPU = float64(cpuTicks(cmd.Process.Pid)-c0) / 100 / time.Since(t0).Seconds() * 100
	return r, nil
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// pss is the Pss line of /proc/PID/smaps_rollup, in KiB.
func pss(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// cpuTicks is utime+stime of pid (clock ticks, 100 a second).
func cpuTicks(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return u + st
}

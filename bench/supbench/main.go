// Command supbench measures svinit's supervision side by side with Debian's
// daemontools (svscan/supervise), runit (runsvdir/runsv) and s6
// (s6-svscan/s6-supervise), each as PID 1 of its own PID namespace, over the
// same service: bench/svcbin, a static C program that timestamps its start,
// SIGHUP and SIGTERM in ./events (CLOCK_MONOTONIC).
//
// Run as root: go run ./bench/supbench -svinit PATH -svcbin PATH
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svinit/svinit/bench/internal/procs"
	"golang.org/x/sys/unix"
)

// supervisor is one system under test.
type supervisor struct {
	name  string
	start func(root string) []string // argv of PID 1
	procs []string                   // comm names of its own processes
	hup   func(dir string) []string  // its own control CLI, which sends SIGHUP
}

// cSvc is Debian's C svc (daemontools'), the one client every supervisor's
// supervise/control takes: its row compares the supervisors alone.
func cSvc(dir string) []string { return []string{"/usr/bin/svc", "-h", dir} }

var (
	svinitPath  = flag.String("svinit", "svinit", "svinit binary")
	svcbinPath  = flag.String("svcbin", "svcbin", "the static service program")
	idle        = flag.Duration("idle", 60*time.Second, "idle CPU measurement period")
	idleWindows = flag.Int("idle-windows", 3, "idle periods measured one after another (Go collects every 2 minutes: the first may miss it)")
	samples     = flag.Int("samples", 10, "restart latency samples")
	ctlSamples  = flag.Int("ctl", 30, "control latency samples")
	memOnly     = flag.Bool("mem-only", false, "measure memory only")
	only        = flag.String("only", "", "measure this supervisor only")
	stopOnly    = flag.Bool("shutdown-only", false, "measure the shutdown only")
	stops       = flag.Int("stops", 5, "shutdown samples")
	rowsFlag    = flag.String("rows", "all", "the rows to measure: all, control (the two control rows alone), 10k (the 10,000-service rows, scale.go) or startup (the start-up at -scale-n, alternating with daemontools)")
)

func supervisors() []supervisor {
	svcLink := filepath.Join(filepath.Dir(*svinitPath), "bin/svc")
	return []supervisor{
		{"svinit", func(r string) []string { return []string{*svinitPath, "-s", r} }, []string{"svinit"},
			func(d string) []string { return []string{svcLink, "-h", d} }},
		{"daemontools", func(r string) []string { return []string{"/usr/bin/svscan", r} }, []string{"svscan", "supervise"}, cSvc},
		{"runit", func(r string) []string { return []string{"/usr/bin/runsvdir", r} }, []string{"runsvdir", "runsv"},
			func(d string) []string { return []string{"/usr/bin/sv", "hup", d} }},
		{"s6", func(r string) []string { return []string{"/usr/bin/s6-svscan", "-c", "4096", r} }, []string{"s6-svscan", "s6-supervise"},
			func(d string) []string { return []string{"/usr/bin/s6-svc", "-h", d} }},
	}
}

func main() {
	flag.Parse()
	abs, _ := filepath.Abs(*svinitPath)
	*svinitPath = abs
	sups := supervisors()
	if *only != "" {
		for _, s := range sups {
			if s.name == *only {
				sups = []supervisor{s}
			}
		}
	}
	fmt.Printf("supbench: %s, %d CPUs, kernel %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), procs.Kernel())
	if scaleRows(sups) {
		return
	}
	if *rowsFlag != "all" && *rowsFlag != "control" {
		fmt.Fprintf(os.Stderr, "supbench: -rows %s: not all, control, 10k or startup\n", *rowsFlag)
		os.Exit(2)
	}
	rows := []string{
		"Memory Pss, 10 services (KiB, all supervisor processes)",
		"Memory Pss, 100 services (KiB)",
		"Memory Pss, 1000 services (KiB)",
		"Supervisor processes at 1000 services",
		"Start-up, 100 services: launch → last service started (ms)",
		"Start-up, 1000 services: launch → last service started (ms)",
		"Restart after kill -9 (uptime > 1.5 s): kill → next start, median [min–max] (ms)",
		ctlRows[0],
		ctlRows[1],
		fmt.Sprintf("Idle CPU, 100 services, ms CPU per %v (all supervisor processes): the first %v after start-up; then each of the next %d", *idle, *idle, *idleWindows-1),
		"  times a supervisor thread was put on a CPU, in the same windows",
		"Shutdown by kill -TERM of PID 1 (docker stop), 100 services → PID 1 gone, median [min–max] of 5 (ms)",
		"  services that got SIGTERM (of 100)",
	}
	cells := make([][]string, len(rows))
	switch {
	case *rowsFlag == "control":
		ctl := controlLatencies(sups)
		rows, cells = ctlRows[:], ctl[:]
	default:
		for _, s := range sups {
			col := measure(s)
			for i := range rows {
				cells[i] = append(cells[i], col[i])
			}
		}
		if !*memOnly && !*stopOnly {
			ctl := controlLatencies(sups) // every supervisor's tree at once, the samples alternating
			at := slices.Index(rows, ctlRows[0])
			cells[at], cells[at+1] = ctl[0], ctl[1]
		}
	}
	printTable("metric", sups, rows, cells)
}

// printTable prints rows × supervisors as a Markdown table.
func printTable(corner string, sups []supervisor, rows []string, cells [][]string) {
	fmt.Printf("| %s |", corner)
	for _, s := range sups {
		fmt.Printf(" %s |", s.name)
	}
	fmt.Print("\n|---|")
	for range sups {
		fmt.Print("---|")
	}
	fmt.Println()
	for i, r := range rows {
		fmt.Printf("| %s | %s |\n", r, strings.Join(cells[i], " | "))
	}
}

func measure(s supervisor) []string {
	var col []string
	if *stopOnly {
		return append(make([]string, 11), shutdown(s)...)
	}
	for _, n := range []int{10, 100, 1000} {
		t := launch(s, n)
		t.waitStarted(n)
		time.Sleep(time.Second)
		pss, procs := t.supervisorMemory(s)
		col = append(col, strconv.Itoa(pss))
		if n == 1000 {
			col = append(col, procs)
		}
		t.stop()
	}
	if *memOnly {
		return append(col, make([]string, 9)...)
	}
	for _, n := range []int{100, 1000} {
		t := launch(s, n)
		last := t.waitStarted(n)
		col = append(col, fmt.Sprintf("%.0f", float64(last-t.launched)/1e6))
		t.stop()
	}
	col = append(col, restartLatency(s), "", "") // the control rows: controlLatencies
	col = append(col, idleCPU(s)...)
	col = append(col, shutdown(s)...)
	return col
}

// tree is one running supervisor over n services.
type tree struct {
	root     string
	cmd      *exec.Cmd
	launched int64
}

func launch(s supervisor, n int) *tree {
	root, _ := os.MkdirTemp("", "supbench-")
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%04d", i))
		must(os.Mkdir(dir, 0o755))
		must(os.Symlink(*svcbinPath, filepath.Join(dir, "run")))
	}
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, s.start(root)...)
	t := &tree{root: root, cmd: exec.Command("unshare", argv...)}
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no stray tree if we die
	t.launched = procs.Mono()
	must(t.cmd.Start())
	return t
}

func (t *tree) dirs() []string {
	ents, _ := os.ReadDir(t.root)
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(t.root, e.Name()))
		}
	}
	return out
}

// events reads a service's ./events: kind → timestamps.
func events(dir string) map[string][]int64 {
	out := map[string][]int64{}
	f, err := os.Open(filepath.Join(dir, "events"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 {
			ns, _ := strconv.ParseInt(fs[2], 10, 64)
			out[fs[0]] = append(out[fs[0]], ns)
		}
	}
	return out
}

// waitStarted waits until every service started once; it returns the last
// start stamp.
func (t *tree) waitStarted(n int) int64 {
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		var last int64
		done := 0
		for _, d := range t.dirs() {
			if st := events(d)["start"]; len(st) > 0 {
				done++
				last = max(last, st[0])
			}
		}
		if done == n {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	panic("services did not all start in 120 s")
}

// members are the processes of the namespace: unshare's descendants.
func (t *tree) members() []int {
	var out []int
	queue := []int{t.cmd.Process.Pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		kids := procs.Children(p)
		out = append(out, kids...)
		queue = append(queue, kids...)
	}
	return out
}

func (t *tree) supervisorPids(s supervisor) []int {
	var out []int
	for _, p := range t.members() {
		for _, c := range s.procs {
			if comm(p) == c {
				out = append(out, p)
			}
		}
	}
	return out
}

func (t *tree) supervisorMemory(s supervisor) (int, string) {
	total := 0
	counts := map[string]int{}
	for _, p := range t.supervisorPids(s) {
		total += procs.KiB(fmt.Sprintf("/proc/%d/smaps_rollup", p), "Pss:")
		counts[comm(p)]++
	}
	var parts []string
	for _, c := range s.procs {
		parts = append(parts, fmt.Sprintf("%d %s", counts[c], c))
	}
	return total, strings.Join(parts, ", ")
}

func (t *tree) stop() {
	_ = t.cmd.Process.Kill()
	_ = t.cmd.Wait()
	os.RemoveAll(t.root)
}

func restartLatency(s supervisor) string {
	t := launch(s, 1)
	defer t.stop()
	dir := t.dirs()[0]
	t.waitStarted(1)
	var lat []float64
	for i := 0; i < *samples; i++ {
		time.Sleep(1600 * time.Millisecond)
		before := len(events(dir)["start"])
		pid := t.servicePid()
		t0 := procs.Mono()
		must(unix.Kill(pid, unix.SIGKILL))
		st := waitEvent(dir, "start", before+1)
		lat = append(lat, float64(st-t0)/1e6)
	}
	return spread(lat)
}

// servicePid is the host pid of the service (its comm is "run").
func (t *tree) servicePid() int {
	for _, p := range t.members() {
		if comm(p) == "run" {
			return p
		}
	}
	panic("no service process")
}

func waitEvent(dir, kind string, n int) int64 {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ev := events(dir)[kind]; len(ev) >= n {
			return ev[n-1]
		}
		time.Sleep(200 * time.Microsecond)
	}
	panic(kind + " event did not come")
}

// ctlRows are the control rows: each supervisor's own CLI (svinit's svc
// applet, daemontools' svc, runit's sv hup, s6-svc -h), then Debian's C svc
// against every supervisor.
var ctlRows = [2]string{
	"Control: spawn of CLI → HUP handler runs, median [min–max] (ms)",
	"  the same with Debian's C svc -h (daemontools') against every supervisor",
}

// controlLatencies runs one service under every supervisor at once and
// sends it SIGHUP -ctl times with each supervisor's own CLI and with Debian's
// C svc, the samples alternating (supervisor by supervisor, client by
// client) so that the load of the moment falls on all alike. It returns the
// two rows' cells.
func controlLatencies(sups []supervisor) [2][]string {
	trees := make([]*tree, len(sups))
	dirs := make([]string, len(sups))
	for i, s := range sups {
		trees[i] = launch(s, 1)
		defer trees[i].stop()
		dirs[i] = trees[i].dirs()[0]
	}
	for _, t := range trees {
		t.waitStarted(1)
	}
	time.Sleep(1500 * time.Millisecond)
	lat := make([][2][]float64, len(sups))
	for n := 1; n <= *ctlSamples; n++ {
		for i, s := range sups {
			for c, argv := range [2][]string{s.hup(dirs[i]), cSvc(dirs[i])} {
				lat[i][c] = append(lat[i][c], hupLatency(dirs[i], argv, 2*n-1+c))
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	var out [2][]string
	for i := range sups {
		out[0] = append(out[0], spread(lat[i][0]))
		out[1] = append(out[1], spread(lat[i][1]))
	}
	return out
}

// hupLatency runs argv and waits for the n-th hup of the service in dir:
// the time from the spawn to its HUP handler, in ms.
func hupLatency(dir string, argv []string, n int) float64 {
	t0 := procs.Mono()
	must(exec.Command(argv[0], argv[1:]...).Run())
	return float64(waitEvent(dir, "hup", n)-t0) / 1e6
}

// idleCPU: the CPU time and the times on a CPU of the supervisor's
// processes in -idle-windows windows of -idle each, 100 services up.
func idleCPU(s supervisor) []string {
	t := launch(s, 100)
	defer t.stop()
	t.waitStarted(100)
	time.Sleep(2 * time.Second)
	pids := t.supervisorPids(s)
	var ms, runs []string
	cpu, ran := sched(pids)
	for i := 0; i < *idleWindows; i++ {
		time.Sleep(*idle)
		cpuNow, ranNow := sched(pids)
		ms = append(ms, fmt.Sprintf("%.2f", float64(cpuNow-cpu)/1e6))
		runs = append(runs, strconv.FormatInt(ranNow-ran, 10))
		cpu, ran = cpuNow, ranNow
	}
	return []string{windows(ms), windows(runs)}
}

func windows(w []string) string {
	if len(w) == 1 {
		return w[0]
	}
	return w[0] + "; then " + strings.Join(w[1:], ", ")
}

// sched sums the time on CPU, and the times put on a CPU, of every thread
// of pids.
func sched(pids []int) (ns, runs int64) {
	for _, p := range pids {
		ns += procs.CPUTime(p)
		runs += procs.Runs(p)
	}
	return ns, runs
}

// shutdown: kill -TERM of PID 1 with 100 services up → PID 1 gone, the
// median of -stops runs, and how many services got SIGTERM (the least).
func shutdown(s supervisor) []string {
	var times []float64
	termed, never := 100, false
	for i := 0; i < *stops; i++ {
		d, n := shutdownOnce(s)
		if d < 0 {
			never = true
		} else {
			times = append(times, d)
		}
		termed = min(termed, n)
	}
	if never {
		return []string{"never (still running 5 s later)", strconv.Itoa(termed)}
	}
	return []string{spread(times), strconv.Itoa(termed)}
}

func shutdownOnce(s supervisor) (float64, int) {
	t := launch(s, 100)
	defer os.RemoveAll(t.root)
	t.waitStarted(100)
	time.Sleep(500 * time.Millisecond)
	pid1 := procs.Children(t.cmd.Process.Pid)[0]
	done := make(chan struct{})
	go func() { _ = t.cmd.Wait(); close(done) }()
	t0 := time.Now()
	must(unix.Kill(pid1, unix.SIGTERM))
	d := -1.0
	select {
	case <-done:
		d = float64(time.Since(t0).Microseconds()) / 1000
	case <-time.After(5 * time.Second):
		_ = t.cmd.Process.Kill()
		<-done
	}
	termed := 0
	for _, dir := range t.dirs() {
		if len(events(dir)["term"]) > 0 {
			termed++
		}
	}
	return d, termed
}

func spread(v []float64) string {
	sort.Float64s(v)
	return fmt.Sprintf("%.2f [%.2f–%.2f]", v[len(v)/2], v[0], v[len(v)-1])
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

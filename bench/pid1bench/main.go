// Command pid1bench measures svinit side by side with Debian's tini,
// dumb-init and catatonit, each as PID 1 of its own PID namespace around the
// same main command (this binary, re-executed as a helper):
//
//   - orphan storm: the main command double-forks N grandchildren that exit at
//     once; orphans reaped per second and the peak number awaiting reaping;
//   - signal forwarding: kill(PID 1, SIG) from outside → the main
//     command's handler, median of -rounds × -sigs samples (the rounds take
//     the inits in turn), for USR1 and, with -signals, TERM, INT, HUP, CONT
//     and USR1 and TERM to the main command's process group (each init's -g;
//     dumb-init's default, -c without); the main command is bench/sigcatch
//     (C) when given with -catcher, as bench/run does;
//   - the init's RSS idle with one child (2 s after it started), and its peak
//     RSS after the storm.
//
// It prints a Markdown table. Run as root: go run ./bench/pid1bench -svinit PATH
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svinit/svinit/bench/internal/procs"
	"golang.org/x/sys/unix"
)

type initSpec struct {
	name  string
	argv  []string // the init and its options; the main command follows
	group []string // argv to signal the main command's process group
	env   []string // added to the init's environment
	storm bool     // measured in the storm only, not in signal forwarding
}

// variant is one signal forwarding measurement: sig to PID 1, passed on to
// the main command or (group) to its process group.
type variant struct {
	name  string
	sig   unix.Signal
	group bool
}

func (v variant) argv(in initSpec) []string {
	if v.group {
		return in.group
	}
	return in.argv
}

// catcher is the main command of the signal forwarding measurement ("":
// this program's Go helper).
var catcher string

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "helper:") {
		os.Exit(helper(strings.TrimPrefix(os.Args[1], "helper:"), os.Args[2:]))
	}
	svinit := flag.String("svinit", "svinit", "svinit binary to measure")
	n := flag.Int("n", 10000, "orphans in the storm")
	reps := flag.Int("reps", 3, "storm repetitions per init")
	sigs := flag.Int("sigs", 100, "signal forwarding samples per init and round")
	rounds := flag.Int("rounds", 5, "signal forwarding rounds, every init in turn")
	only := flag.String("only", "", "measure only the inits whose names contain this (default: all)")
	latencyOnly := flag.Bool("latency-only", false, "measure signal forwarding only (bench/run does, a second time under taskset -c 0)")
	allSignals := flag.Bool("signals", false, "signal forwarding for TERM, INT, HUP, CONT and with -g too, not USR1 alone")
	flag.StringVar(&catcher, "catcher", "", "the main command for signal forwarding: bench/sigcatch (default: this program's Go helper)")
	flag.Parse()
	inits := []initSpec{
		{name: "svinit", argv: []string{*svinit, "--"}, group: []string{*svinit, "-g", "--"}},
		{name: "tini", argv: []string{"tini", "--"}, group: []string{"tini", "-g", "--"}},
		{name: "dumb-init", argv: []string{"dumb-init", "-c"}, group: []string{"dumb-init"}},
		{name: "catatonit", argv: []string{"catatonit", "--"}, group: []string{"catatonit", "-g", "--"}},
		{name: "no init (the main command's own signal path)"},
	}
	variants := []variant{{"USR1", unix.SIGUSR1, false}}
	if *allSignals {
		variants = append(variants, variant{"TERM", unix.SIGTERM, false}, variant{"INT", unix.SIGINT, false},
			variant{"HUP", unix.SIGHUP, false}, variant{"CONT", unix.SIGCONT, false},
			variant{"USR1 -g", unix.SIGUSR1, true}, variant{"TERM -g", unix.SIGTERM, true})
	}
	var chosen []initSpec
	for _, in := range inits {
		if strings.Contains(in.name, *only) {
			chosen = append(chosen, in)
		}
	}
	fmt.Printf("pid1bench: %s, %d CPUs, kernel %s, ", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), procs.Kernel())
	if !*latencyOnly {
		fmt.Printf("storm of %d orphans ×%d, ", *n, *reps)
	}
	fmt.Printf("%d rounds of %d signals\n\n", *rounds, *sigs)
	lats := latencies(chosen, variants, *rounds, *sigs)
	if *latencyOnly {
		fmt.Print("| init |")
		for _, v := range variants {
			fmt.Printf(" %s: signal forward latency median [min–max] (µs) |", v.name)
		}
		fmt.Print("\n|---|")
		for range variants {
			fmt.Print("---|")
		}
		fmt.Println()
		for _, in := range chosen {
			if in.storm {
				continue
			}
			fmt.Printf("| %s |", in.name)
			for _, v := range variants {
				if l := lats[in.name][v.name]; len(l) > 0 {
					fmt.Printf(" %.1f [%.1f–%.1f] |", median(l), l[0], l[len(l)-1])
				} else {
					fmt.Print(" – |")
				}
			}
			fmt.Println()
		}
		return
	}
	fmt.Println("| init | orphans reaped/s (median) | storm begin → all reaped (ms) | peak zombies | signal forward latency median [min–max] (µs) | RSS idle (KiB) | peak RSS after storm (KiB) | init's CPU during the storm (ms) | init's context switches during the storm |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, in := range chosen {
		l := lats[in.name]["USR1"]
		lat := "–"
		if len(l) > 0 {
			lat = fmt.Sprintf("%.1f [%.1f–%.1f]", median(l), l[0], l[len(l)-1])
		}
		if len(in.argv) == 0 {
			fmt.Printf("| %s | – | – | – | %s | – | – | – | – |\n", in.name, lat)
			continue
		}
		if !installed(in) {
			fmt.Printf("| %s | not installed | | | | | | | |\n", in.name)
			continue
		}
		var rates, durs, peaks, cpus, switches []float64
		var hwm int
		for i := 0; i < *reps; i++ {
			r := storm(in, *n)
			rates = append(rates, float64(*n)/r.d.Seconds())
			durs = append(durs, float64(r.d.Microseconds())/1000)
			peaks = append(peaks, float64(r.peak))
			cpus = append(cpus, float64(r.cpu.Microseconds())/1000)
			switches = append(switches, float64(r.switches))
			hwm = max(hwm, r.hwm)
		}
		rss := idleRSS(in)
		fmt.Printf("| %s | %.0f | %.0f | %.0f | %s | %d | %d | %.0f | %.0f |\n", in.name,
			median(rates), median(durs), median(peaks), lat, rss, hwm,
			median(cpus), median(switches))
	}
}

func self() string {
	p, _ := os.Executable()
	return p
}

func installed(in initSpec) bool {
	if len(in.argv) == 0 {
		return true
	}
	_, err := exec.LookPath(in.argv[0])
	return err == nil
}

// latencies measures signal forwarding in rounds that take every init and
// variant in turn, so that the machine's drifts spread over all of them; the
// samples of all rounds are pooled, sorted: by init, then variant.
func latencies(inits []initSpec, variants []variant, rounds, samples int) map[string]map[string][]float64 {
	lat := map[string]map[string][]float64{}
	for r := 0; r < rounds; r++ {
		for _, v := range variants {
			for _, in := range inits {
				if in.storm || !installed(in) || (v.group && len(in.argv) == 0) {
					continue
				}
				if lat[in.name] == nil {
					lat[in.name] = map[string][]float64{}
				}
				lat[in.name][v.name] = append(lat[in.name][v.name], forwardLatency(in, v, samples)...)
			}
		}
	}
	for _, byVariant := range lat {
		for _, l := range byVariant {
			sort.Float64s(l)
		}
	}
	return lat
}

// startNS starts INIT... CMD... as PID 1 of a new PID namespace and returns
// the unshare command, the init's host pid and a reader of CMD's stdout.
func startNS(in initSpec, initArgv []string, cmd ...string) (*exec.Cmd, int, *bufio.Reader) {
	argv := append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, initArgv...)
	argv = append(argv, cmd...)
	c := exec.Command("unshare", argv...)
	c.Env = append(os.Environ(), in.env...)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no stray namespace if we die
	out, _ := c.StdoutPipe()
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		panic(err)
	}
	var pid int
	for pid == 0 {
		if kids := procs.Children(c.Process.Pid); len(kids) == 1 {
			pid = kids[0]
		}
	}
	return c, pid, bufio.NewReader(out)
}

// stormResult is one storm: its duration, the peak of orphans awaiting
// reaping, the init's peak RSS, and the CPU time and context switches of
// all the init's threads from the storm's begin to its end.
type stormResult struct {
	d, cpu    time.Duration
	peak, hwm int
	switches  int64
}

func storm(in initSpec, n int) stormResult {
	c, pid, out := startNS(in, in.argv, self(), "helper:storm", strconv.Itoa(n))
	line, _ := out.ReadString('\n')
	f := strings.Fields(line)
	if len(f) != 5 {
		panic(fmt.Sprintf("%s storm: %q", in.name, line))
	}
	var r stormResult
	r.d, _ = time.ParseDuration(f[1] + "ns")
	r.peak, _ = strconv.Atoi(f[2])
	r.cpu, _ = time.ParseDuration(f[3] + "ns")
	r.switches, _ = strconv.ParseInt(f[4], 10, 64)
	r.hwm = procs.KiB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
	_ = c.Wait()
	return r
}

// orphansLeft counts the orphans not yet reaped: the children of PID 1's main
// thread, to which the kernel re-parents orphans, but me. Reading the one
// thread's list keeps the measuring cost the same for a one-thread init and
// for svinit's several threads.
func orphansLeft() int {
	b, _ := os.ReadFile("/proc/1/task/1/children")
	n := 0
	me := strconv.Itoa(os.Getpid())
	for _, f := range strings.Fields(string(b)) {
		if f != me {
			n++
		}
	}
	return n
}

// initUsage sums, over the threads of PID 1 (seen from inside its
// namespace), the time on CPU and the context switches.
func initUsage() (cpu time.Duration, switches int64) {
	return time.Duration(procs.CPUTime(1)), procs.Switches(1)
}

func forwardLatency(in initSpec, v variant, samples int) []float64 {
	cmd := []string{self(), "helper:catch"}
	if catcher != "" {
		cmd = []string{catcher}
	}
	c, pid, out := startNS(in, v.argv(in), append(cmd, strconv.Itoa(samples), strconv.Itoa(int(v.sig)))...)
	_, _ = out.ReadString('\n') // ready
	var lat []float64
	for i := 0; i < samples; i++ {
		t0 := procs.Mono()
		_ = unix.Kill(pid, v.sig)
		line, _ := out.ReadString('\n')
		t1, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		lat = append(lat, float64(t1-t0)/1000)
		time.Sleep(2 * time.Millisecond)
	}
	_ = c.Wait()
	sort.Float64s(lat)
	return lat
}

func idleRSS(in initSpec) int {
	c, pid, out := startNS(in, in.argv, self(), "helper:idle")
	_, _ = out.ReadString('\n')
	// Idle means after start-up: the same 2 s for every init.
	time.Sleep(2 * time.Second)
	rss := procs.KiB(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	_ = unix.Kill(pid, unix.SIGTERM)
	_ = c.Wait()
	return rss
}

func helper(name string, args []string) int {
	switch name {
	case "storm":
		return helperStorm(args)
	case "catch":
		n, _ := strconv.Atoi(args[0])
		sig, _ := strconv.Atoi(args[1])
		ch := make(chan os.Signal, 1)
		signalNotify(ch, syscall.Signal(sig))
		fmt.Println("ready")
		for i := 0; i < n; i++ {
			<-ch
			fmt.Println(procs.Mono())
		}
		return 0
	case "idle":
		ch := make(chan os.Signal, 1)
		signalNotify(ch, syscall.SIGTERM)
		fmt.Println("ready")
		<-ch
		return 0
	}
	return 99
}

// helperStorm double-forks N grandchildren that exit at once, then waits
// until none awaits reaping, sampling how many do. It prints
// "reaped DURATION_NS PEAK INIT_CPU_NS INIT_SWITCHES".
func helperStorm(args []string) int {
	n, _ := strconv.Atoi(args[0])
	done := make(chan struct{})
	peak := 0
	go func() {
		defer close(done)
		runtime.LockOSThread()
		doubleForks(n)
	}()
	cpu0, cs0 := initUsage()
	begin := time.Now()
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		z := orphansLeft()
		peak = max(peak, z)
		if finished && z == 0 {
			break
		}
		time.Sleep(500 * time.Microsecond)
	}
	d := time.Since(begin)
	cpu1, cs1 := initUsage()
	fmt.Printf("reaped %d %d %d %d\n", d.Nanoseconds(), peak, (cpu1 - cpu0).Nanoseconds(), cs1-cs0)
	return 0
}

// doubleForks makes n orphans: fork A, A forks B and exits, B exits.
func doubleForks(n int) {
	for i := 0; i < n; i++ {
		a, _, errno := syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
		if errno != 0 {
			continue
		}
		if a == 0 {
			syscall.RawSyscall(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0)
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(int(a), &ws, 0, nil)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

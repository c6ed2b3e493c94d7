package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/svinit/svinit/bench/internal/procs"
	"golang.org/x/sys/unix"
)

// The scale rows (issue 19's moonshot): every supervisor over as many
// services as it manages, up to -scale-n, in one launch each; and the
// start-up at 1,000 services, svinit and daemontools alternating.
var (
	scaleN     = flag.Int("scale-n", 10000, "services for -rows 10k and -rows startup")
	scaleRound = flag.Int("scale-rounds", 3, "rounds of -rows startup")
	svinitB    = flag.String("svinit-b", "", "-rows startup: a second svinit binary run in each round too (before/after)")
)

// scaleRows runs -rows 10k or -rows startup; false for any other -rows.
func scaleRows(sups []supervisor) bool {
	switch *rowsFlag {
	case "startup":
		startupPairs(sups)
	case "10k":
		tenThousand(sups)
	default:
		return false
	}
	return true
}

// startupPairs: launch → the Nth service started, and the CPU time the
// supervisor's processes spent until then (a busy machine stretches the
// first; the second is what the supervisor costs), svinit and daemontools one after the other,
// -scale-rounds times.
func startupPairs(sups []supervisor) {
	var pair []supervisor
	for _, s := range sups {
		if s.name == "svinit" || s.name == "daemontools" {
			pair = append(pair, s)
		}
	}
	if *svinitB != "" {
		b, _ := filepath.Abs(*svinitB)
		pair = append(pair, supervisor{"svinit-b", func(r string) []string { return []string{b, "-s", r} }, []string{"svinit"}, nil})
	}
	ms, cpums := map[string][]float64{}, map[string][]float64{}
	for r := 0; r < *scaleRound; r++ {
		var line []string
		for _, s := range pair {
			t := launch(s, *scaleN)
			last, ok := t.waitAll(*scaleN, 60*time.Second)
			if !ok {
				line = append(line, s.name+" did not start all")
				t.stop()
				continue
			}
			d := float64(last-t.launched) / 1e6
			cpu, _ := sched(t.supervisorPids(s))
			ms[s.name] = append(ms[s.name], d)
			cpums[s.name] = append(cpums[s.name], float64(cpu)/1e6)
			line = append(line, fmt.Sprintf("%s %.0f ms (CPU %.0f ms)", s.name, d, float64(cpu)/1e6))
			t.stop()
		}
		if len(ms["daemontools"]) == r+1 && len(ms["svinit"]) == r+1 {
			line = append(line, fmt.Sprintf("ratio %.2f", ms["svinit"][r]/ms["daemontools"][r]))
		}
		fmt.Printf("start-up, %d services, round %d: %s\n", *scaleN, r+1, strings.Join(line, ", "))
	}
	for _, s := range pair {
		if len(ms[s.name]) > 0 {
			fmt.Printf("%s: %s ms, supervisor CPU %s ms\n", s.name, spread(ms[s.name]), spread(cpums[s.name]))
		}
	}
}

// waitAll waits until each of n services has started once, reading only the
// events files of those not seen yet; it returns the last first-start stamp.
// It gives up after limit, or once 5 s pass without a new start (a
// supervisor that hit one of its limits).
func (t *tree) waitAll(n int, limit time.Duration) (int64, bool) {
	pending := t.dirs()
	for len(pending) < n { // the tree is made before the launch: all are there
		pending = t.dirs()
	}
	var last int64
	deadline, progress := time.Now().Add(limit), time.Now()
	for time.Now().Before(deadline) && time.Since(progress) < 5*time.Second {
		left := pending[:0]
		for _, d := range pending {
			if st := events(d)["start"]; len(st) > 0 {
				last = max(last, st[0])
			} else {
				left = append(left, d)
			}
		}
		if len(left) < len(pending) {
			progress = time.Now()
		}
		pending = left
		if len(pending) == 0 {
			return last, true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last, false
}

// svstatAll is the status CLI of each supervisor over every directory in one
// call (s6-svstat takes one directory: nil).
func svstatAll(s supervisor, dirs []string) []string {
	switch s.name {
	case "svinit":
		return append([]string{filepath.Join(filepath.Dir(*svinitPath), "bin/svstat")}, dirs...)
	case "daemontools":
		return append([]string{"/usr/bin/svstat"}, dirs...)
	case "runit":
		return append([]string{"/usr/bin/sv", "status"}, dirs...)
	}
	return nil
}

// tenThousand: one launch of each supervisor over -scale-n services (if
// they do not all start, 1/2, 1/4, then 1/10 as many): start-up, Pss,
// idle CPU, svc -h latency to one service, svstat of all, and the shutdown
// by TERM of PID 1.
func tenThousand(sups []supervisor) {
	rows := []string{
		"Services managed in one run (the largest of N, N/2, N/4, N/10 that all started)",
		"Start-up: launch → last service started (ms)",
		"Memory Pss, all supervisor processes (KiB)",
		"Idle CPU, 5 s after start-up + 2 s (ms); times a supervisor thread was put on a CPU",
		"Control: svc -h to one service → HUP handler, median [min–max] of 10 (ms)",
		"  the same with 10 services, in the same run (ms)",
		"Status of every service in one svstat call (ms; s6-svstat takes one directory)",
		"Shutdown: kill -TERM of PID 1 → PID 1 gone (ms); services that got SIGTERM",
	}
	cells := make([][]string, len(rows))
	for _, s := range sups {
		col := scaleColumn(s)
		for i := range rows {
			cells[i] = append(cells[i], col[i])
		}
	}
	printTable("10,000 services", sups, rows, cells)
}

func scaleColumn(s supervisor) []string {
	for _, n := range []int{*scaleN, *scaleN / 2, *scaleN / 4, *scaleN / 10} {
		t := launch(s, n)
		last, ok := t.waitAll(n, 40*time.Second)
		if !ok {
			fmt.Fprintf(os.Stderr, "supbench: %s: %d services did not all start (40 s, or 5 s without a new start)\n", s.name, n)
			t.stop()
			continue
		}
		col := []string{strconv.Itoa(n), fmt.Sprintf("%.0f", float64(last-t.launched)/1e6)}
		time.Sleep(2 * time.Second)
		pss, _ := t.supervisorMemory(s)
		col = append(col, strconv.Itoa(pss))
		pids := t.supervisorPids(s)
		cpu, ran := sched(pids)
		time.Sleep(5 * time.Second)
		cpuNow, ranNow := sched(pids)
		col = append(col, fmt.Sprintf("%.2f; %d", float64(cpuNow-cpu)/1e6, ranNow-ran))
		col = append(col, scaleControl(s, t))
		col = append(col, scaleSvstat(s, t))
		col = append(col, scaleShutdown(t))
		small := launch(s, 10)
		if _, ok := small.waitAll(10, 10*time.Second); ok {
			time.Sleep(time.Second)
			ctl := scaleControl(s, small)
			col = append(col[:5], append([]string{ctl}, col[5:]...)...)
		} else {
			col = append(col[:5], append([]string{"did not start"}, col[5:]...)...)
		}
		small.stop()
		return col
	}
	return []string{fmt.Sprintf("none of %d, %d, %d, %d", *scaleN, *scaleN/2, *scaleN/4, *scaleN/10), "", "", "", "", "", "", ""}
}

// scaleControl: svc -h to one service in the middle of the tree.
func scaleControl(s supervisor, t *tree) string {
	dirs := t.dirs()
	dir := dirs[len(dirs)/2]
	var lat []float64
	for i := 0; i < 10; i++ {
		argv := s.hup(dir)
		t0 := procs.Mono()
		if err := exec.Command(argv[0], argv[1:]...).Run(); err != nil {
			return "failed: " + err.Error()
		}
		ev := waitEvent(dir, "hup", i+1)
		lat = append(lat, float64(ev-t0)/1e6)
		time.Sleep(20 * time.Millisecond)
	}
	return spread(lat)
}

// scaleSvstat: one status call over every directory, the median of 3; each
// directory must be listed once.
func scaleSvstat(s supervisor, t *tree) string {
	dirs := t.dirs()
	argv := svstatAll(s, dirs)
	if argv == nil {
		return "n/a"
	}
	var d []float64
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		out, err := exec.Command(argv[0], argv[1:]...).Output()
		d = append(d, float64(time.Since(t0).Microseconds())/1000)
		if lines := strings.Count(string(out), "\n"); lines != len(dirs) || err != nil {
			return fmt.Sprintf("%d lines of %d (%v)", lines, len(dirs), err)
		}
	}
	return spread(d)
}

// scaleShutdown: TERM to PID 1, then how long until it is gone (10 s at
// most) and how many services got TERM.
func scaleShutdown(t *tree) string {
	defer os.RemoveAll(t.root)
	pid1 := procs.Children(t.cmd.Process.Pid)[0]
	done := make(chan struct{})
	go func() { _ = t.cmd.Wait(); close(done) }()
	t0 := time.Now()
	must(unix.Kill(pid1, unix.SIGTERM))
	gone := "never (still running 10 s later)"
	select {
	case <-done:
		gone = fmt.Sprintf("%.0f", float64(time.Since(t0).Microseconds())/1000)
	case <-time.After(10 * time.Second):
		_ = t.cmd.Process.Kill()
		<-done
	}
	termed := 0
	dirs := t.dirs()
	for _, dir := range dirs {
		if len(events(dir)["term"]) > 0 {
			termed++
		}
	}
	return fmt.Sprintf("%s; %d of %d", gone, termed, len(dirs))
}

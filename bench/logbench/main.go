// Command logbench measures svinit's log paths, in one run:
//
//   - the stdout prefixer: 20 services each write -lines lines of 100 bytes
//     at once; lines per second through svinit to a pipe, every line checked;
//   - multilog: the same million lines into svinit's multilog and Debian's,
//     a log directory each (s16777215).
//
// Run as root: go run ./bench/logbench -svinit PATH (-multilog-only: the
// multilog rows alone)
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	svinit := flag.String("svinit", "svinit", "svinit binary")
	lines := flag.Int("lines", 50000, "lines per service")
	multilogOnly := flag.Bool("multilog-only", false, "only the multilog rows")
	flag.Parse()
	fmt.Printf("logbench: %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Println("| path | lines | seconds | lines/s |")
	fmt.Println("|---|---|---|---|")
	if !*multilogOnly {
		n, d := prefixer(*svinit, 20, *lines)
		fmt.Printf("| svinit stdout prefixer, 20 services at once | %d | %.2f | %.0f |\n", n, d.Seconds(), float64(n)/d.Seconds())
	}
	total := 20 * *lines
	for _, prog := range [][]string{{*svinit, "multilog"}, {"multilog"}} {
		d := multilog(prog, total)
		name := "Debian multilog"
		if len(prog) == 2 {
			name = "svinit multilog"
		}
		fmt.Printf("| %s, one log directory | %d | %.2f | %.0f |\n", name, total, d.Seconds(), float64(total)/d.Seconds())
	}
}

func prefixer(svinit string, services, lines int) (int, time.Duration) {
	root, _ := os.MkdirTemp("", "logbench-")
	defer os.RemoveAll(root)
	line := strings.Repeat("x", 93)
	for i := 0; i < services; i++ {
		dir := filepath.Join(root, fmt.Sprintf("s%02d", i))
		must(os.Mkdir(dir, 0o755))
		// Wait for the go file, then write as fast as the shell can.
		script := fmt.Sprintf("#!/bin/sh\nwhile [ ! -e %s/go ]; do sleep 0.01; done\nyes %s | head -n %d\nexec sleep 100000\n", root, line, lines)
		must(os.WriteFile(filepath.Join(dir, "run"), []byte(script), 0o755))
	}
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", svinit, "-s", root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, _ := cmd.StdoutPipe()
	must(cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(time.Second)
	want := services * lines
	began := time.Now()
	must(os.WriteFile(filepath.Join(root, "go"), nil, 0o644))
	sc := bufio.NewScanner(out)
	n := 0
	for n < want && sc.Scan() {
		l := sc.Text()
		if len(l) != len("s00: ")+len(line) || !strings.HasSuffix(l, ": "+line) {
			panic(fmt.Sprintf("mangled line %q", l))
		}
		n++
	}
	return n, time.Since(began)
}

func multilog(prog []string, lines int) time.Duration {
	dir, _ := os.MkdirTemp("", "logbench-ml-")
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "input")
	f, _ := os.Create(input)
	w := bufio.NewWriter(f)
	for i := 0; i < lines; i++ {
		fmt.Fprintf(w, "%08d %s\n", i, strings.Repeat("y", 91))
	}
	w.Flush()
	f.Close()
	in, _ := os.Open(input)
	defer in.Close()
	cmd := exec.Command(prog[0], append(prog[1:], "s16777215", filepath.Join(dir, "log"))...)
	cmd.Stdin = in
	began := time.Now()
	must(cmd.Run())
	return time.Since(began)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

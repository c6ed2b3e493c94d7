// Command chart draws bench/run's results as PNG charts with gnuplot:
// supervisor memory against the number of services, restart latency, and
// orphan reaping throughput. It reads the Markdown tables of results.md,
// so the charts always show the same figures as the table.
//
//	chart -in bench/out/results.md -out bench/charts
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	in := flag.String("in", "bench/out/results.md", "results.md written by bench/run")
	out := flag.String("out", "bench/charts", "directory for the PNG files")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	tables, err := readTables(in)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var script strings.Builder
	fmt.Fprintf(&script, "set terminal pngcairo size 800,480 font 'sans,11'\nset grid ytics\nset key top left\n")
	for _, chart := range []func([][][]string, string, *strings.Builder) error{memoryChart, restartChart, reapChart} {
		if err := chart(tables, out, &script); err != nil {
			return err
		}
	}
	gp := exec.Command("gnuplot")
	gp.Stdin = strings.NewReader(script.String())
	gp.Stdout, gp.Stderr = os.Stdout, os.Stderr
	if err := gp.Run(); err != nil {
		return fmt.Errorf("gnuplot: %w", err)
	}
	return nil
}

// readTables returns every Markdown table of the file: rows of cells.
func readTables(path string) ([][][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var tables [][][]string
	var cur [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			if cur != nil {
				tables, cur = append(tables, cur), nil
			}
			continue
		}
		if strings.HasPrefix(line, "|---") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		cur = append(cur, cells)
	}
	if cur != nil {
		tables = append(tables, cur)
	}
	return tables, sc.Err()
}

// find is the table whose header's first cell is first.
func find(tables [][][]string, first string) ([][]string, error) {
	for _, t := range tables {
		if len(t) > 0 && t[0][0] == first {
			return t, nil
		}
	}
	return nil, fmt.Errorf("no table starting with %q in the results", first)
}

// row is the row whose first cell starts with prefix.
func row(t [][]string, prefix string) ([]string, error) {
	for _, r := range t {
		if strings.HasPrefix(r[0], prefix) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no row %q", prefix)
}

// number is the first number of a cell: "1.66 [1.25–1.81]" → 1.66.
func number(cell string) (float64, error) {
	f := strings.Fields(cell)
	if len(f) == 0 {
		return 0, fmt.Errorf("empty cell")
	}
	return strconv.ParseFloat(f[0], 64)
}

// span is the min and max of "median [min–max]".
func span(cell string) (float64, float64, error) {
	i, j := strings.Index(cell, "["), strings.Index(cell, "]")
	if i < 0 || j < i {
		return 0, 0, fmt.Errorf("no [min–max] in %q", cell)
	}
	lo, hi, ok := strings.Cut(cell[i+1:j], "–")
	if !ok {
		return 0, 0, fmt.Errorf("no [min–max] in %q", cell)
	}
	a, err1 := strconv.ParseFloat(lo, 64)
	b, err2 := strconv.ParseFloat(hi, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("bad [min–max] in %q", cell)
	}
	return a, b, nil
}

func writeData(path string, lines []string) error {
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// memoryChart: Pss of all supervisor processes at 10, 100, 1000 services.
func memoryChart(tables [][][]string, out string, gp *strings.Builder) error {
	t, err := find(tables, "metric")
	if err != nil {
		return err
	}
	names := t[0][1:]
	lines := []string{"# services " + strings.Join(names, " ")}
	for _, n := range []string{"10", "100", "1000"} {
		r, err := row(t, "Memory Pss, "+n+" services")
		if err != nil {
			return err
		}
		lines = append(lines, n+" "+strings.Join(r[1:], " "))
	}
	data := filepath.Join(out, "memory.dat")
	if err := writeData(data, lines); err != nil {
		return err
	}
	fmt.Fprintf(gp, "set output '%s'\nset title 'Supervisor memory (Pss of all supervisor processes)'\n", filepath.Join(out, "memory.png"))
	fmt.Fprintf(gp, "set logscale xy\nset xlabel 'services'\nset ylabel 'KiB'\nset xtics (10, 100, 1000)\nset xrange [8:1250]\nset format y '%%.0f'\n")
	fmt.Fprintf(gp, "plot ")
	for i, n := range names {
		if i > 0 {
			fmt.Fprintf(gp, ", ")
		}
		fmt.Fprintf(gp, "'%s' using 1:%d with linespoints lw 2 title '%s'", data, i+2, n)
	}
	fmt.Fprintf(gp, "\nunset logscale\nunset xtics\nset xtics\nset xrange [*:*]\nset format y '%%g'\n")
	return nil
}

// restartChart: kill -9 → next start, median with min–max.
func restartChart(tables [][][]string, out string, gp *strings.Builder) error {
	t, err := find(tables, "metric")
	if err != nil {
		return err
	}
	r, err := row(t, "Restart after kill -9")
	if err != nil {
		return err
	}
	lines := []string{"# i name median min max"}
	for i, name := range t[0][1:] {
		med, err := number(r[i+1])
		if err != nil {
			return err
		}
		lo, hi, err := span(r[i+1])
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%d %s %g %g %g", i, name, med, lo, hi))
	}
	data := filepath.Join(out, "restart.dat")
	if err := writeData(data, lines); err != nil {
		return err
	}
	fmt.Fprintf(gp, "set output '%s'\nset title 'Restart latency after kill -9 (median, min-max; log scale)'\n", filepath.Join(out, "restart.png"))
	fmt.Fprintf(gp, "set logscale y\nset xlabel ''\nset ylabel 'ms'\nset boxwidth 0.6\nset style fill solid 0.6\nset xrange [-0.6:%d.6]\nset yrange [0.5:*]\n", len(t[0])-2)
	fmt.Fprintf(gp, "plot '%s' using 1:3:xtic(2) with boxes notitle, '' using 1:3:4:5 with yerrorbars lc black pt 0 notitle, '' using 1:3:(sprintf('%%.2f', $3)) with labels offset 0,1 notitle\n", data)
	fmt.Fprintf(gp, "unset logscale\nset xrange [*:*]\nset yrange [*:*]\n")
	return nil
}

// reapChart: orphans reaped per second in a 10,000-orphan storm.
func reapChart(tables [][][]string, out string, gp *strings.Builder) error {
	t, err := find(tables, "init")
	if err != nil {
		return err
	}
	lines := []string{"# i name orphans/s signal-µs"}
	i := 0
	for _, r := range t[1:] {
		v, err := number(r[1])
		if err != nil {
			continue // the "no init" row has no reaping figure
		}
		lat, _ := number(r[4])
		lines = append(lines, fmt.Sprintf("%d %s %g %g", i, r[0], v, lat))
		i++
	}
	data := filepath.Join(out, "reaping.dat")
	if err := writeData(data, lines); err != nil {
		return err
	}
	fmt.Fprintf(gp, "set output '%s'\nset title 'Orphans reaped per second (10,000-orphan storm, median of 3)'\n", filepath.Join(out, "reaping.png"))
	fmt.Fprintf(gp, "set xlabel ''\nset ylabel 'orphans/s'\nset boxwidth 0.6\nset style fill solid 0.6\nset xrange [-0.6:%d.4]\nset yrange [0:*]\n", i-1)
	fmt.Fprintf(gp, "set offsets 0,0,graph 0.1,0\n")
	fmt.Fprintf(gp, "plot '%s' using 1:3:xtic(2) with boxes notitle, '' using 1:3:(sprintf('%%.0f', $3)) with labels offset 0,1 notitle\n", data)
	return nil
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"

	"github.com/svinit/svinit/supervisor/svdir"
)

// runSvstat is daemontools' svstat, one line per directory, always exit 0.
// svinit's additions: a service waiting to restart shows ", backoff Ns" and
// why it failed; --json prints one JSON object per service instead.
func runSvstat(args []string) int {
	asJSON, ready := false, false
	var dirs []string
	for _, a := range args {
		switch a {
		case "--json":
			asJSON = true
		case "--ready":
			ready = true
		default:
			dirs = append(dirs, a)
		}
	}
	now := time.Now()
	if ready {
		return readyProbe(dirs, now)
	}
	for _, dir := range dirs {
		if asJSON {
			b, _ := json.Marshal(statusJSON(dir, now))
			fmt.Println(string(b))
			continue
		}
		fmt.Println(dir + ": " + svstatLine(dir, now))
	}
	return 0
}

func svstatLine(dir string, now time.Time) string {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "unable to chdir: " + chdirErr(err)
	}
	normallyUp, err := normallyUp(dir)
	if err != nil {
		return "unable to stat down: " + errstr.Text(err)
	}
	if err := svdir.Alive(dir); err != nil {
		if errors.Is(err, svdir.ErrNotRunning) {
			return "supervise not running"
		}
		return "unable to open supervise/ok: " + errstr.Text(err)
	}
	st, err := svdir.ReadStatus(dir, false)
	if err != nil {
		if os.IsNotExist(err) {
			return "unable to open supervise/status: " + errstr.Text(err)
		}
		return "unable to read supervise/status: " + errstr.Text(err)
	}
	var b strings.Builder
	if st.Pid != 0 {
		fmt.Fprintf(&b, "up (pid %d) ", st.Pid)
	} else {
		b.WriteString("down ")
	}
	fmt.Fprintf(&b, "%d seconds", st.Age(now))
	b.WriteString(flags(st, normallyUp))
	if info, ok := svdir.ReadInfo(dir); ok {
		switch {
		case info.State == "backoff":
			fmt.Fprintf(&b, ", backoff %ds", max(info.BackoffUntil-now.Unix(), 0))
			if info.LastError != "" {
				b.WriteString(": " + info.LastError)
			}
		case info.State == "wait":
			b.WriteString(", " + info.Waiting)
		case info.State == "done":
			b.WriteString(", done")
		case st.Pid == 0 && info.LastError != "":
			b.WriteString(": " + info.LastError)
		}
		if info.Health == "unhealthy" {
			b.WriteString(", unhealthy: " + info.HealthOutput)
		}
		if info.Kind == "scheduled" {
			if info.NextRun > 0 {
				fmt.Fprintf(&b, ", next run in %ds", max(info.NextRun-now.Unix(), 0))
			}
			if info.LastExit != "" && st.Pid == 0 {
				b.WriteString(", last run: " + info.LastExit)
			}
		}
	}
	return b.String()
}

// readyProbe is svstat --ready, for exec probes: exit 0 only when every
// service is up and ready; each one that is not is named on stderr.
func readyProbe(dirs []string, now time.Time) int {
	if len(dirs) == 0 {
		fmt.Fprintln(os.Stderr, "svstat: usage: svstat --ready dir [dir ...]")
		return 100
	}
	code := 0
	for _, dir := range dirs {
		st := statusJSON(dir, now)
		if st.Ready && (st.State == "up" || st.State == "done") {
			continue
		}
		code = 1
		why := st.State
		if st.Error != "" {
			why = st.Error
		}
		fmt.Fprintf(os.Stderr, "svstat: %s: not ready: %s\n", dir, why)
	}
	return code
}

// flags are daemontools' status words.
func flags(st svdir.Status, normallyUp bool) string {
	var b strings.Builder
	if st.Pid != 0 && !normallyUp {
		b.WriteString(", normally down")
	}
	if st.Pid == 0 && normallyUp {
		b.WriteString(", normally up")
	}
	if st.Pid != 0 && st.Paused {
		b.WriteString(", paused")
	}
	if st.Pid == 0 && st.Want == 'u' {
		b.WriteString(", want up")
	}
	if st.Pid != 0 && st.Want == 'd' {
		b.WriteString(", want down")
	}
	return b.String()
}

// normallyUp: no ./down file.
func normallyUp(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, "down"))
	if os.IsNotExist(err) {
		return true, nil
	}
	return false, err
}

func statusJSON(dir string, now time.Time) svdir.Report {
	out := svdir.Report{Name: dir}
	up, err := normallyUp(dir)
	if err == nil {
		err = svdir.Alive(dir)
	}
	var st svdir.Status
	if err == nil {
		st, err = svdir.ReadStatus(dir, false)
	}
	if err != nil {
		out.State, out.Error = "unknown", errstr.Text(err)
		if errors.Is(err, svdir.ErrNotRunning) {
			out.Error = "supervise not running"
		}
		return out
	}
	out.Pid, out.Seconds, out.Paused = st.Pid, st.Age(now), st.Paused
	out.State = [...]string{"down", "up", "finish"}[st.State%3]
	out.Want = map[byte]string{'u': "up", 'd': "down"}[st.Want]
	out.Normally = map[bool]string{true: "up", false: "down"}[up]
	if info, ok := svdir.ReadInfo(dir); ok {
		out.State, out.Ready, out.Restarts = info.State, info.Ready, info.Restarts
		out.LastExit, out.LastError = info.LastExit, info.LastError
		out.Kind, out.Health, out.HealthFailures, out.HealthOutput = info.Kind, info.Health, info.HealthFailures, info.HealthOutput
		out.EverReady, out.LastStart, out.NextRun = info.EverReady, info.LastStart, info.NextRun
	} else {
		out.Ready = st.Pid != 0
	}
	return out
}

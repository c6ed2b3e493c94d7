package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/supervisor/svdir"
)

// runHealth is `svinit health [DIR]`, for Docker's HEALTHCHECK CMD (and a
// Kubernetes exec probe): exit 0 when every service of the tree DIR
// (default $SVINIT_SERVICE_DIR or /service) is as it should be, 1 with one
// line per failing service on stdout otherwise (Docker keeps that output in
// docker inspect), 100 on usage. It reads each service's supervise/ files,
// as svstat --json does: no connection to PID 1. Only `svinit health`
// reaches it: --install links no "health", too generic a name for a PATH.
func runHealth(args []string) int {
	dir := os.Getenv("SVINIT_SERVICE_DIR")
	if dir == "" {
		dir = "/service"
	}
	switch {
	case len(args) > 1 || (len(args) == 1 && strings.HasPrefix(args[0], "-")):
		fmt.Fprintln(os.Stderr, "svinit health: usage: svinit health [DIR]")
		return 100
	case len(args) == 1:
		dir = args[0]
	}
	return health(os.Stdout, dir, time.Now())
}

// health writes a line for each failing service of the tree root and
// returns the exit code.
func health(w io.Writer, root string, now time.Time) int {
	names, err := serviceNames(root)
	if err != nil {
		fmt.Fprintf(w, "unable to read %s: %s\n", root, errstr.Text(err))
		return 1
	}
	code := 0
	for _, name := range names {
		dir := filepath.Join(root, name)
		if why := healthFailure(dir, statusJSON(dir, now)); why != "" {
			fmt.Fprintf(w, "%s: %s\n", name, why)
			code = 1
		}
	}
	return code
}

// serviceNames are the services of root as svinit's scan sees them (a
// directory not starting with a dot), each followed by its log/ if any.
func serviceNames(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if st, err := os.Stat(filepath.Join(root, name)); err != nil || !st.IsDir() {
			continue
		}
		names = append(names, name)
		if st, err := os.Stat(filepath.Join(root, name, "log")); err == nil && st.IsDir() {
			names = append(names, name+"/log")
		}
	}
	sort.Strings(names)
	return names, nil
}

// healthFailure is why a service fails the check, "" if it passes:
//   - no status (no svinit, or not yet: the directory is new);
//   - unhealthy: its health probe failed health-retries times in a row;
//   - wanted up but not up and ready (a oneshot: not done yet);
//   - normally up but down for good: it gave up (max-restarts, start-retries).
//
// A scheduled job passes between its runs and while it runs: a failed run
// is shown by svstat and /metrics (last exit code), not the container's
// health. A service taken down with svc -d, or with a ./down file, passes.
func healthFailure(dir string, r svdir.Report) string {
	switch {
	case r.State == "unknown":
		return "no status: " + r.Error
	case r.Health == "unhealthy":
		return "unhealthy: " + r.HealthOutput
	case r.Kind == "scheduled":
		return ""
	case r.Want == "up" && !(r.Ready && (r.State == "up" || r.State == "done")):
		why := r.State
		switch {
		case r.State == "wait":
			if info, ok := svdir.ReadInfo(dir); ok && info.Waiting != "" {
				why = info.Waiting
			}
		case r.State == "up":
			why = "up, not ready yet"
		case r.LastError != "":
			why += ": " + r.LastError
		}
		return "not ready: " + why
	case r.Want != "up" && r.Normally == "up" && r.State == "down" && r.LastError != "":
		return "down: " + r.LastError
	}
	return ""
}

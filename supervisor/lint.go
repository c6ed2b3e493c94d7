package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
)

// Lint checks a service tree as start-up would, without starting anything:
// every service's run (and log/run, finish, check) must be runnable. It
// returns one line per problem, each naming the file.
func Lint(root string) []string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return []string{fmt.Sprintf("%s: unable to read: %s", root, errstr.Text(err))}
	}
	var problems []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		st, err := os.Stat(dir)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: unable to stat: %s", dir, errstr.Text(err)))
			continue
		}
		if !st.IsDir() {
			continue
		}
		problems = append(problems, lintService(dir)...)
		problems = append(problems, lintControl(dir)...)
		if st, err := os.Stat(filepath.Join(dir, "log")); err == nil && st.IsDir() {
			problems = append(problems, lintService(filepath.Join(dir, "log"))...)
		}
	}
	sort.Strings(problems)
	return problems
}

func lintService(dir string) []string {
	var problems []string
	if err := checkRunnable(filepath.Join(dir, "run")); err != nil {
		problems = append(problems, err.Error())
	}
	for _, opt := range []string{"finish", "check", "health", "undo"} {
		path := filepath.Join(dir, opt)
		if _, err := os.Lstat(path); err == nil {
			if err := checkRunnable(path); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	// every optional file svinit reads before a start (depends, schedule,
	// health-*, restart, env/ ...): what it would warn about then
	_, errs := readConfig(dir)
	for _, err := range errs {
		problems = append(problems, err.Error())
	}
	if fi, err := os.Lstat(filepath.Join(dir, "supervise")); err == nil && !fi.IsDir() && fi.Mode()&os.ModeSymlink == 0 {
		problems = append(problems, fmt.Sprintf("%s/supervise: not a directory or a symlink", dir))
	}
	return problems
}

// lintControl checks runit's control/ scripts (custom.go): each must be
// named by one command byte and be runnable (runsv and svinit silently
// skip one that is not executable).
func lintControl(dir string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, "control"))
	if err != nil {
		return nil
	}
	var problems []string
	for _, e := range entries {
		path := filepath.Join(dir, "control", e.Name())
		if _, ok := commands[e.Name()[0]]; !ok || len(e.Name()) != 1 {
			problems = append(problems, fmt.Sprintf("%s: not a control command (one of u d o x p c h a i q 1 2 t k)", path))
			continue
		}
		if err := checkRunnable(path); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems
}

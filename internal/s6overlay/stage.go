package s6overlay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svinit/svinit/internal/errstr"
)

// Stage is the hidden applet behind the cont-init oneshot:
//
//	cont-init   BEHAVIOUR VERBOSITY MAXTIME_MS FIX_ATTRS_HIDDEN ROOT
//	cont-finish BEHAVIOUR VERBOSITY MAXTIME_MS FIX_ATTRS_HIDDEN ROOT
//
// or, as the interpreter of a generated script (#!EXE --s6-overlay-stage),
// the script's path alone, its second line holding those arguments.
// It runs ROOT/etc/cont-init.d/* (or cont-finish.d/*) one after the other
// in lexical order, with s6-overlay's messages. cont-init: first the files
// of ROOT/etc/fix-attrs.d (FixAttrs); if one failed, BEHAVIOUR 1 warns and
// 2 exits 1 before any cont-init script, as s6-overlay's fix-attrs oneshot,
// which legacy-cont-init depends on, fails then. Then every script
// runs; if one exited non-zero, BEHAVIOUR 1 warns and 2 exits 1 (the
// oneshot fails, and it is essential then: the container stops). cont-finish:
// each script is killed after MAXTIME_MS (0: no limit); the stage exits 0.
// It runs in a child of PID 1 and waits for its own children.
func Stage(args []string, stderr io.Writer) int {
	// #!EXE --s6-overlay-stage: the script's path (then what its caller
	// gave it: s6's ./run gets the service's name); its second line has
	// the arguments.
	if len(args) > 0 && len(args) < 6 && strings.ContainsRune(args[0], '/') {
		b, err := os.ReadFile(args[0])
		if err != nil {
			fmt.Fprintf(stderr, "s6-overlay-stage: %v\n", errstr.Unable("read", args[0], err))
			return 111
		}
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 {
			fmt.Fprintf(stderr, "s6-overlay-stage: %s: no arguments on its second line\n", args[0])
			return 100
		}
		args = strings.Fields(lines[1])
	}
	if len(args) != 6 {
		fmt.Fprintf(stderr, "s6-overlay-stage: usage: cont-init|cont-finish BEHAVIOUR VERBOSITY MAXTIME_MS FIX_ATTRS_HIDDEN ROOT\n")
		return 100
	}
	nums := make([]int, 4)
	for i := range nums {
		n, err := strconv.Atoi(args[1+i])
		if err != nil || n < 0 {
			fmt.Fprintf(stderr, "s6-overlay-stage: not a number: %q\n", args[1+i])
			return 100
		}
		nums[i] = n
	}
	b, v, maxMs, hidden := nums[0], nums[1], nums[2], nums[3] != 0
	root := args[5]
	switch args[0] {
	case "cont-init":
		if FixAttrs(filepath.Join(root, FixAttrsDir), hidden, v, stderr) && b != 0 {
			if v >= 1 {
				fmt.Fprintf(stderr, "fix-attrs: warning: some fix files failed to apply\n")
			}
			if b >= 2 {
				return 1
			}
		}
		return contInit(filepath.Join(root, ContInitDir), b, v, stderr)
	case "cont-finish":
		contFinish(filepath.Join(root, ContFinDir), v, time.Duration(maxMs)*time.Millisecond, stderr)
		return 0
	}
	fmt.Fprintf(stderr, "s6-overlay-stage: unknown stage %q\n", args[0])
	return 100
}

func contInit(dir string, b, v int, stderr io.Writer) int {
	failed := false
	for _, f := range scripts(dir) {
		p := filepath.Join(dir, f)
		if v >= 2 {
			fmt.Fprintf(stderr, "cont-init: info: running %s\n", p)
		}
		code := runScript(p, 0, stderr)
		if v >= 2 {
			fmt.Fprintf(stderr, "cont-init: info: %s exited %d\n", p, code)
		}
		failed = failed || code != 0
	}
	if failed && b != 0 {
		if v >= 1 {
			fmt.Fprintf(stderr, "cont-init: warning: some scripts exited nonzero\n")
		}
		if b >= 2 {
			return 1
		}
	}
	return 0
}

func contFinish(dir string, v int, max time.Duration, stderr io.Writer) {
	for _, f := range scripts(dir) {
		p := filepath.Join(dir, f)
		if v >= 2 {
			fmt.Fprintf(stderr, "cont-finish: info: running %s\n", p)
		}
		if code := runScript(p, max, stderr); code == -1 && v >= 1 {
			fmt.Fprintf(stderr, "cont-finish: warning: %s still ran after %v: killed\n", p, max)
		}
	}
}

// runScript runs path, killed after max (0: no limit); its exit code
// (128+N for signal N), -1 when it was killed for the time, 126/127 when it
// could not run.
func runScript(path string, max time.Duration, stderr io.Writer) int {
	ctx := context.Background()
	if max > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, max)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stderr, "s6-overlay-stage: %v\n", errstr.Unable("run", path, err))
		return 127
	default:
		fmt.Fprintf(stderr, "s6-overlay-stage: %v\n", errstr.Unable("run", path, err))
		return 126
	}
}

package reaper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// Spec says how to start one process.
type Spec struct {
	Path string   // file to execute; looked up in PATH when it has no slash
	Argv []string // argv, argv[0] included
	Env  []string // nil means svinit's own environment
	Dir  string   // working directory; "" keeps svinit's
	// Files become the child's fds 0, 1, 2, ... in order. nil means svinit's
	// own 0, 1, 2. Every other fd is close-on-exec in svinit, so the child
	// gets these and nothing else.
	Files []uintptr
	// Pgid puts the child in a new process group of its own.
	Pgid bool
	// Setsid gives the child a new session (implies its own process group).
	Setsid bool
	// Foreground makes the child's new process group the foreground group of
	// the terminal on the child's fd 0 (tini's behaviour with a TTY).
	Foreground bool
	// Ctty makes the terminal on the child's fd 0 the controlling terminal
	// of its new session (with Setsid; dumb-init's behaviour). The terminal
	// must belong to no session: the kernel call would take it from one.
	Ctty bool
}

// StartError is a process that could not be started. Code is 127 for a file
// that does not exist and 126 for one that cannot be executed, as in a shell.
type StartError struct {
	Path string
	Err  error
}

func (e *StartError) Error() string {
	hint := ""
	if errors.Is(e.Err, unix.EACCES) {
		hint = " (not executable?)"
	}
	return fmt.Sprintf("unable to start %s: %s%s", e.Path, errstr.Text(e.Err), hint)
}

func (e *StartError) Unwrap() error { return e.Err }

// Code is the exit code a shell would give for this failure.
func (e *StartError) Code() int {
	if errors.Is(e.Err, unix.ENOENT) || errors.Is(e.Err, exec.ErrNotFound) {
		return 127
	}
	return 126
}

// spawnHere forks and executes s on the calling thread. Only Reaper.Start
// calls it (directly or through the spawner), with the reaper's lock held;
// nothing here ever waits for the process.
func spawnHere(s Spec) (int, error) {
	path, err := lookPath(s.Path)
	if err != nil {
		return 0, &StartError{Path: s.Path, Err: err}
	}
	files := s.Files
	if files == nil {
		files = []uintptr{0, 1, 2}
	}
	env := s.Env
	if env == nil {
		env = os.Environ()
	}
	attr := &syscall.ProcAttr{
		Dir:   s.Dir,
		Env:   env,
		Files: files,
		Sys: &syscall.SysProcAttr{
			Setsid:     s.Setsid,
			Setpgid:    (s.Pgid || s.Foreground) && !s.Setsid,
			Foreground: s.Foreground && !s.Setsid,
			Setctty:    s.Ctty && s.Setsid,
			Ctty:       0,
		},
	}
	pid, err := syscall.ForkExec(path, s.Argv, attr)
	if err != nil {
		return 0, &StartError{Path: s.Path, Err: err}
	}
	return pid, nil
}

// lookPath finds a command as execvp does, but reports a file that exists and
// is not executable as EACCES rather than "not found".
func lookPath(file string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	p, err := exec.LookPath(file)
	if err == nil {
		return p, nil
	}
	for _, dir := range strings.Split(os.Getenv("PATH"), ":") {
		if dir == "" {
			dir = "."
		}
		if st, serr := os.Stat(dir + "/" + file); serr == nil && !st.IsDir() {
			return "", unix.EACCES
		}
	}
	return "", exec.ErrNotFound
}

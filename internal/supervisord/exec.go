package supervisord

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/svinit/svinit/internal/errstr"

	"golang.org/x/sys/unix"
)

// ReadSpec reads the SpecFile of the service directory dir.
func ReadSpec(dir string) (Spec, error) {
	var s Spec
	path := filepath.Join(dir, SpecFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return s, errstr.Unable("read", path, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("unable to read %s: %v", path, err)
	}
	if len(s.Argv) == 0 {
		return s, fmt.Errorf("unable to read %s: no argv", path)
	}
	return s, nil
}

// Exec does what supervisord does in the child between fork and exec —
// the umask, the environment, stdout and stderr, the directory, the user —
// then execs the command (the PATH search is svinit's own PATH, as
// supervisord's is its own). It returns only on failure. exe is the svinit
// binary, for the rotating logger.
func Exec(s Spec, exe string) error {
	path := s.Argv[0]
	if !strings.Contains(path, "/") {
		found, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("can't find command %q", path)
		}
		path = found
	}
	env := os.Environ()
	for _, kv := range s.Env {
		env = setEnv(env, kv[0], kv[1])
	}
	unix.Umask(s.Umask)
	if err := setOutput(1, s.Stdout, s, exe); err != nil {
		return err
	}
	if s.RedirectStderr {
		if err := unix.Dup2(1, 2); err != nil {
			return errstr.Unable("redirect stderr of", path, err)
		}
	} else if err := setOutput(2, s.Stderr, s, exe); err != nil {
		return err
	}
	if s.Directory != "" {
		if err := os.Chdir(s.Directory); err != nil {
			return fmt.Errorf("couldn't chdir to %s: %s", s.Directory, errstr.Text(err))
		}
	}
	if s.User != "" {
		if err := dropPrivileges(s.User); err != nil {
			return err
		}
	}
	err := syscall.Exec(path, s.Argv, env)
	return errstr.Unable("run", path, err)
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// setOutput points fd at what the log spec says: svinit's own stdout or
// stderr for /dev/stdout, /dev/fd/1 ... (written as they are, no prefix,
// as supervisord does), /dev/null for NONE, a file opened for appending
// when maxbytes is 0, else a pipe to a rotating logger.
func setOutput(fd int, l LogSpec, s Spec, exe string) error {
	target := ""
	switch l.Path {
	case "":
		target = os.DevNull
	case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		target = fmt.Sprintf("/proc/%d/fd/1", s.SvinitPid)
	case "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2":
		target = fmt.Sprintf("/proc/%d/fd/2", s.SvinitPid)
	default:
		if l.MaxBytes == 0 || strings.HasPrefix(l.Path, "/dev/") {
			target = l.Path
		}
	}
	if target != "" {
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return errstr.Unable("open", target, err)
		}
		defer f.Close()
		return unix.Dup2(int(f.Fd()), fd)
	}
	// A rotating logger: "svinit supervisord-logger -d FILE MAXBYTES
	// BACKUPS" forks the logger itself and exits, so the logger is svinit's
	// child (the subreaper's), not the program's.
	r, w, err := os.Pipe()
	if err != nil {
		return errstr.Unable("create a pipe for", l.Path, err)
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command(exe, "supervisord-logger", "-d", l.Path, strconv.FormatInt(l.MaxBytes, 10), strconv.Itoa(l.Backups))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, nil, os.Stderr
	if err := cmd.Run(); err != nil {
		return errstr.Unable("start the logger for", l.Path, err)
	}
	return unix.Dup2(int(w.Fd()), fd)
}

// StartLogger is the -d step of the logger: start the logger proper in a
// process group of its own (a killasgroup KILL of the program does not
// lose its last lines) with the same stdin, and return.
func StartLogger(exe string, args []string) error {
	cmd := exec.Command(exe, append([]string{"supervisord-logger"}, args...)...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return errstr.Unable("start", exe, err)
	}
	return cmd.Process.Release()
}

func dropPrivileges(name string) error {
	u, err := lookupUser(name)
	if err != nil {
		return fmt.Errorf("couldn't setuid to %s: %v", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("couldn't setuid to %s: no numeric uid/gid", name)
	}
	var groups []int
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil {
				groups = append(groups, n)
			}
		}
	}
	if len(groups) == 0 {
		groups = []int{gid}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("couldn't set groups of %s: %s", name, errstr.Text(err))
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("couldn't setgid to %d: %s", gid, errstr.Text(err))
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("couldn't setuid to %d: %s", uid, errstr.Text(err))
	}
	return nil
}

// Logger copies r to path with supervisord's rotation: after a write
// leaves the file at maxBytes or more, path.N-1 → path.N ... path → path.1
// (backups of them kept; none: the file is emptied), and a new path.
func Logger(r io.Reader, path string, maxBytes int64, backups int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return errstr.Unable("open", path, err)
	}
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				f.Close()
				return errstr.Unable("write", path, err)
			}
			size += int64(n)
			if maxBytes > 0 && size >= maxBytes {
				f.Close()
				rotate(path, backups)
				if f, err = os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644); err != nil {
					return errstr.Unable("open", path, err)
				}
				size = 0
			}
		}
		if rerr != nil {
			f.Close()
			if rerr == io.EOF {
				return nil
			}
			return errstr.Unable("read the output for", path, rerr)
		}
	}
}

func rotate(path string, backups int) {
	if backups <= 0 {
		return
	}
	for i := backups - 1; i > 0; i-- {
		src := fmt.Sprintf("%s.%d", path, i)
		if _, err := os.Stat(src); err == nil {
			_ = os.Rename(src, fmt.Sprintf("%s.%d", path, i+1))
		}
	}
	_ = os.Rename(path, path+".1")
}

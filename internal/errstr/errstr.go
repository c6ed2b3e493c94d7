// Package errstr is svinit's one wording of system errors, the daemon's and
// the applets' alike: the words daemontools and runit use for errno values
// (djb's error_str), so that svinit's applets print what theirs print and
// its log reads the same way ("svinit: warning: unable to start
// /service/web/run: file does not exist"). A message says the operation,
// the path and then Text of the cause: Unable builds it.
package errstr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// djb are daemontools' words for errno values.
var djb = map[unix.Errno]string{
	unix.EINTR: "interrupted system call", unix.ENOMEM: "out of memory",
	unix.ENOENT: "file does not exist", unix.EIO: "input/output error",
	unix.EEXIST: "file already exists", unix.EPERM: "permission denied",
	unix.EACCES: "access denied", unix.ENXIO: "device not configured",
	unix.ENOTDIR: "not a directory", unix.EISDIR: "is a directory",
	unix.EAGAIN: "temporary failure", unix.EROFS: "read-only file system",
	unix.ENOSPC: "out of disk space", unix.EMFILE: "out of file descriptors",
	unix.ENFILE: "file descriptor table full", unix.EPIPE: "broken pipe",
	unix.ESRCH: "no such process", unix.EINVAL: "invalid argument",
	unix.ELOOP: "symbolic link loop", unix.ENAMETOOLONG: "file name too long",
	unix.EBUSY: "device busy", unix.ENOEXEC: "exec format error",
	unix.ETXTBSY: "text busy", unix.EBADF: "file descriptor not open",
}

// Text is the cause in err, without the path a PathError repeats: djb's
// word for an errno, or err's own text.
func Text(err error) string {
	if err == nil {
		return "no error"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		if s, ok := djb[errno]; ok {
			return s
		}
		return errno.Error()
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return "file does not exist"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return strings.TrimSpace(err.Error())
}

// Unable is the error "unable to OP PATH: CAUSE".
func Unable(op, path string, err error) error {
	return fmt.Errorf("unable to %s %s: %s", op, path, Text(err))
}

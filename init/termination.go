package pid1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/svinit/svinit/internal/errstr"
	"github.com/svinit/svinit/internal/svlog"
	"github.com/svinit/svinit/supervisor/svdir"
)

// DefaultTerminationLog is Kubernetes' terminationMessagePath default: the
// kubelet bind-mounts a file there, and `kubectl describe pod` shows what
// the container wrote in it when it ended.
const DefaultTerminationLog = "/dev/termination-log"

// maxTermination is what Kubernetes keeps of a termination message (4 KiB);
// svinit writes one line, cut well below.
const maxTermination = 1024

// termination is the reason svinit exits with a failure, for the
// termination log: the first failure wins (an essential service that gave
// up is why the main command was then stopped, not the other way round).
type termination struct {
	reason string
}

// failed records why svinit will exit with a failure, unless a reason is
// already known.
func (t *termination) failed(format string, args ...any) {
	if t.reason == "" {
		t.reason = fmt.Sprintf(format, args...)
	}
}

// essentialReason is the termination message of an essential service that
// gave up: its code, and the last error its svinit.json says (why it gave
// up: max-restarts, a probe).
func essentialReason(serviceDir, name string, code int) string {
	r := fmt.Sprintf("essential service %s gave up (exit code %d)", name, code)
	if info, ok := svdir.ReadInfo(filepath.Join(serviceDir, name)); ok && info.LastError != "" {
		r += ": " + info.LastError
	}
	return r
}

// writeTermination writes the reason of a failure exit to path, one line.
// The default path is written only when it exists (the kubelet made it):
// svinit does not create files in the /dev of a host or of docker run. A
// path given with --termination-log is created. Nothing is written for a
// success, without a reason, or with path "". A failure to write is a
// warning: PID 1 exits with its code all the same.
func writeTermination(path, reason string, code int) {
	if path == "" || reason == "" || code == 0 {
		return
	}
	flags := os.O_WRONLY | os.O_TRUNC
	if path != DefaultTerminationLog {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrNotExist) && path == DefaultTerminationLog {
		return // not under Kubernetes
	}
	if err == nil {
		line := strings.ReplaceAll(reason, "\n", " ")
		if len(line) > maxTermination {
			line = line[:maxTermination]
		}
		_, err = f.WriteString(line + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		svlog.Warn("unable to write the termination log %s: %s", path, errstr.Text(err))
	}
}

// mainExited records a failure of the main command that svinit did not ask
// for (it exited by itself while everything ran, with a code -e does not
// turn into 0).
func (in *initProc) mainExited(code int) {
	if in.phase == running && in.cfg.ExitCode(code) != 0 {
		in.term.failed("main command %s exited with code %d", in.cfg.Argv[0], code)
	}
}

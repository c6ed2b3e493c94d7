package pid1

import (
	"os"

	"github.com/svinit/svinit/internal/svlog"
	"golang.org/x/sys/unix"
)

// becomeReaper makes orphans come back to svinit when it is not PID 1 (a
// Kubernetes sidecar, a docker run without --init). As PID 1 the kernel does
// that already. It warns when svinit can be neither.
func becomeReaper() {
	if os.Getpid() == 1 {
		return
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		svlog.Warn("not PID 1 and unable to become a child subreaper: %v: orphans will not be reaped", err)
		return
	}
	svlog.Info("not PID 1 (pid %d): a child subreaper; orphans of its tree come back to it", os.Getpid())
}

//go:build system

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// 1,000 services in one tree, one svinit process: all come up, and svc -h
// to each reaches it (sleep dies of HUP and is restarted).
func TestThousandServices(t *testing.T) {
	services := map[string]files{}
	var dirs []string
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("s%04d", i)
		services[name] = files{"run": sh("exec sleep 100000")}
	}
	root := makeTree(t, services)
	for name := range services {
		dirs = append(dirs, filepath.Join(root, name))
	}
	r := startTree(t, root)
	// all is a condition: every service's svstat --json satisfies ok.
	all := func(ok func(serviceStatus) bool) func(c *assert.CollectT) {
		return func(c *assert.CollectT) {
			out, code := exitCode(append([]string{"svinit", "svstat", "--json"}, dirs...)...)
			n := 0
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				var st serviceStatus
				if json.Unmarshal([]byte(l), &st) == nil && ok(st) {
					n++
				}
			}
			assert.Equal(c, len(dirs), n, "services as wanted (svstat exited %d)", code)
		}
	}
	require.EventuallyWithT(t, all(isUp), 60*time.Second, 100*time.Millisecond, "all 1000 up")
	kids := children(r.initPid())
	require.Len(t, kids, 1000, "no supervisor processes: svinit's children are the 1000 services")
	for _, k := range kids {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(k) + "/comm")
		require.Equal(t, "sleep\n", string(comm))
	}
	out, code := tool(t, append([]string{"svc", "-h"}, dirs...)...)
	require.Equal(t, 0, code, out)
	require.Empty(t, out)
	require.EventuallyWithT(t, all(func(s serviceStatus) bool { return isUp(s) && s.Restarts == 1 && s.LastExit == "signal 1 (SIGHUP)" }),
		60*time.Second, 100*time.Millisecond, "all 1000 got HUP and came back")
}

// A tree bigger than RLIMIT_NOFILE allows, without the capability to raise
// it (CAP_SYS_RESOURCE out of the bounding set): the services that fit
// with fds to spare for their starts run (8 here), the others are refused,
// svinit says which limit, by name and value, starts what fits and keeps
// answering; it never hangs.
func TestNofileLimitNamed(t *testing.T) {
	services := map[string]files{}
	for i := 0; i < 20; i++ {
		services[fmt.Sprintf("s%02d", i)] = files{"run": sh("exec sleep 100000")}
	}
	root := makeTree(t, services)
	r := start(t, exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		"setpriv", "--bounding-set=-sys_resource", "prlimit", "--nofile=128:128", svinit, "-s", root, "--rescan", "0"))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Contains(c, r.stderr.String(), "20 services need about 416 open files; RLIMIT_NOFILE is 128 (hard 128) and cannot be raised")
		assert.Contains(c, r.stderr.String(), "s08: not started: no room under RLIMIT_NOFILE 128 for another service")
		assert.Contains(c, r.stderr.String(), "s19: not started: no room under RLIMIT_NOFILE 128 for another service")
	}, 20*time.Second, 20*time.Millisecond)
	waitState(t, filepath.Join(root, "s00"), isUp, "up")
	waitState(t, filepath.Join(root, "s07"), isUp, "up")
}

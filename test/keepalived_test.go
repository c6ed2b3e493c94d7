//go:build system

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// A real keepalived, logging only to syslog (-S6, no -l), reaches svinit's
// stdout through --syslog. It runs in namespaces of the test's own: a PID
// namespace, a mount namespace whose /dev is a directory with the few nodes
// keepalived needs (and svinit's /dev/log socket), and a network namespace
// with a veth pair for VRRP — the host's network is never touched.
func TestKeepalivedSyslog(t *testing.T) {
	dev, tmp := t.TempDir(), t.TempDir()
	for name, minor := range map[string]int{"null": 3, "zero": 5, "random": 8, "urandom": 9} {
		require.NoError(t, unix.Mknod(filepath.Join(dev, name), unix.S_IFCHR|0o666, int(unix.Mkdev(1, uint32(minor)))))
	}
	conf := filepath.Join(tmp, "keepalived.conf")
	require.NoError(t, os.WriteFile(conf, []byte(`global_defs {
    router_id svinit_test
}
vrrp_instance VI_1 {
    state MASTER
    interface d0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.231.0.10/24
    }
}
`), 0o644))
	root := makeTree(t, map[string]files{"keepalived": {"run": sh(
		"exec keepalived -n -D -S6 -P -f " + conf + " -p " + tmp + "/k.pid -r " + tmp + "/v.pid")}})
	script := "ip link add d0 type veth peer name d1 && ip link set d1 up && ip link set d0 up && ip addr add 10.231.0.1/24 dev d0 && " +
		"mount --bind " + dev + " /dev && exec " + svinit + " --syslog -s " + root
	r := start(t, exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--mount", "--net", "--kill-child", "sh", "-c", script))
	r.waitOutput("Keepalived: local6.info: Starting Keepalived")
	r.waitOutput("Keepalived_vrrp: local6.info: (VI_1) Entering MASTER STATE\n")
	require.NotContains(t, r.stderr.String(), "unable to listen")
}

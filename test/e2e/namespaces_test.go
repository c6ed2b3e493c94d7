//go:build e2e

package e2e

import (
	"github.com/svinit/svinit/internal/testkit"

	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// namespaces is the engine used where Docker cannot start: each container
// is an overlay over the same image tree (the debootstrap base, the
// packages the Dockerfile installs, svinit and the service tree, made the
// way the Dockerfile makes them), entered with unshare (run) or nsenter
// (exec, --pid container:). Networks are Linux bridges with a veth per
// container.
type namespaces struct {
	image string
	mu    sync.Mutex
	boxes map[string]*box
	nets  map[string]*bridge
	seq   int
}

// box is one container.
type box struct {
	cmd  *exec.Cmd
	pid  int // host pid of its first process (PID 1 of its namespace unless --pid container:)
	out  *testkit.SyncBuffer
	done chan struct{}
	code int
	dir  string
}

type bridge struct {
	dev    string
	prefix string // "172.30.0."
	next   int
}

// nsImage is where the image tree is kept between runs.
const nsImage = "/var/cache/svinit-e2e/nsimage"

// The packages of images/memcached-keepalived-gearmand/Dockerfile.
var imagePackages = []string{"memcached", "keepalived", "gearman-job-server", "gearman-tools", "iproute2", "procps", "daemontools", "runit"}

func newNamespaces() (*namespaces, error) {
	n := &namespaces{image: nsImage, boxes: map[string]*box{}, nets: map[string]*bridge{}}
	if err := n.buildImage(); err != nil {
		return nil, fmt.Errorf("building the image tree %s: %w", nsImage, err)
	}
	return n, nil
}

// buildImage: base + packages once (cached), then svinit and the tree anew.
func (n *namespaces) buildImage() error {
	done := filepath.Join(n.image, ".packages")
	if _, err := os.Stat(done); err != nil {
		if _, err := os.Stat(rootfsCache); err != nil {
			if err := debootstrap(rootfsCache); err != nil {
				return err
			}
		}
		_ = os.RemoveAll(n.image)
		if err := os.MkdirAll(n.image, 0o755); err != nil {
			return err
		}
		script := fmt.Sprintf(`set -e
tar -C %[1]s -xf %[2]s
cp /etc/resolv.conf %[1]s/etc/resolv.conf
mount -t proc proc %[1]s/proc
mount --bind /dev %[1]s/dev
chroot %[1]s apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot %[1]s apt-get install -y -qq --no-install-recommends %[3]s
rm -rf %[1]s/var/lib/apt/lists/*`, n.image, rootfsCache, strings.Join(imagePackages, " "))
		if err := command("unshare", "--mount", "--fork", "sh", "-c", script); err != nil {
			return err
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			return err
		}
	}
	sbin := filepath.Join(n.image, "usr/local/sbin")
	build := exec.Command("sh", "cmd/svinit/release-build", filepath.Join(sbin, "svinit"))
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, out)
	}
	tree := filepath.Join(n.image, "service")
	script := fmt.Sprintf(`set -e
%[1]s/svinit --install %[1]s
rm -rf %[2]s && cp -a ../../images/memcached-keepalived-gearmand/service %[2]s
for s in memcached memcached/log gearmand keepalived; do ln -s "/run/svinit/$(echo $s | tr / .)" "%[2]s/$s/supervise"; done
ln -s /run/svinit/.svinit %[2]s/.svinit
chroot %[3]s svinit check /service`, sbin, tree, n.image)
	return command("sh", "-c", script)
}

// options are the docker run options the tests use.
type options struct {
	env                  []string
	network, user, entry string
	readOnly             bool
	tmpfs, volumes       []string
	sharePid, image      string
	argv                 []string
}

func parseRun(args []string) (options, error) {
	var o options
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		flag := args[i]
		if flag == "--read-only" {
			o.readOnly = true
			continue
		}
		if i+1 == len(args) {
			return o, fmt.Errorf("%s needs a value", flag)
		}
		i++
		v := args[i]
		switch flag {
		case "--network":
			o.network = v
		case "--cap-add": // root in its own namespaces has them all
		case "-e":
			o.env = append(o.env, v)
		case "--tmpfs":
			o.tmpfs = append(o.tmpfs, v)
		case "--user":
			o.user = v
		case "-v":
			o.volumes = append(o.volumes, v)
		case "--pid":
			o.sharePid = strings.TrimPrefix(v, "container:")
		case "--entrypoint":
			o.entry = v
		default:
			return o, fmt.Errorf("docker run option %s: not known to the namespace engine", flag)
		}
	}
	if i == len(args) {
		return o, errors.New("no image")
	}
	if args[i] != appImage {
		return o, fmt.Errorf("image %s: the namespace engine has only %s", args[i], appImage)
	}
	o.image = args[i]
	o.argv = []string{"/usr/local/sbin/svinit", "--syslog"}
	if o.entry != "" {
		o.argv = []string{o.entry}
	}
	o.argv = append(o.argv, args[i+1:]...)
	return o, nil
}

func (n *namespaces) run(name string, args []string) error {
	o, err := parseRun(args)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "e2e-box-"+name+"-")
	if err != nil {
		return err
	}
	b := &box{out: &testkit.SyncBuffer{}, done: make(chan struct{}), dir: dir}
	goFile := filepath.Join(dir, "go")
	script := setupScript(n.image, dir, goFile, name, o)
	if o.sharePid != "" {
		other := n.get(o.sharePid)
		if other == nil {
			return fmt.Errorf("--pid container:%s: no such container", o.sharePid)
		}
		b.cmd = exec.Command("nsenter", "-t", strconv.Itoa(other.pid), "-p", "--",
			"unshare", "--mount", "--uts", "--ipc", "--net", "sh", "-c", script)
	} else {
		b.cmd = exec.Command("unshare", "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "--kill-child", "sh", "-c", script)
	}
	b.cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "HOSTNAME=" + name}, o.env...)
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.out
	if err := b.cmd.Start(); err != nil {
		return err
	}
	go func() {
		err := b.cmd.Wait()
		b.code = exitCode(b.cmd.ProcessState, err)
		close(b.done)
	}()
	n.mu.Lock()
	n.boxes[name] = b
	n.mu.Unlock()
	if b.pid, err = firstChild(b.cmd.Process.Pid); err != nil {
		return err
	}
	netName := o.network
	if netName == "" {
		netName = "e2e-default"
		if err := n.network(netName, "172.29.0.0/24"); err != nil {
			return err
		}
	}
	if err := n.attach(b, netName); err != nil {
		return err
	}
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		return err
	}
	// Like docker run -d: return once the command runs in its root.
	root := filepath.Join(dir, "root")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if r, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", b.pid)); r == root {
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("container %s ended at once: %s", name, b.out)
		default:
		}
	}
	return fmt.Errorf("container %s: its command did not start in 10 s: %s", name, b.out)
}

// setupScript mounts the container's tree and execs its command.
func setupScript(image, dir, goFile, name string, o options) string {
	root := filepath.Join(dir, "root")
	var s strings.Builder
	fmt.Fprintf(&s, "set -e\nmount --make-rprivate /\nmkdir -p %[1]s/root %[1]s/upper %[1]s/work\n", dir)
	fmt.Fprintf(&s, "mount -t overlay overlay -o lowerdir=%s,upperdir=%s/upper,workdir=%s/work %s\n", image, dir, dir, root)
	fmt.Fprintf(&s, "mount -t proc proc %s/proc\n", root)
	// What Docker bind-mounts into every container.
	fmt.Fprintf(&s, "printf '127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost\\n' > %[1]s/etc/hosts\necho %[2]s > %[1]s/etc/hostname\n", root, name)
	fmt.Fprintf(&s, "mount -t tmpfs -o mode=755 tmpfs %[1]s/dev\nfor d in null zero random urandom tty; do touch %[1]s/dev/$d; mount --bind /dev/$d %[1]s/dev/$d; done\n", root)
	for _, t := range o.tmpfs {
		path, opts, _ := strings.Cut(t, ":")
		if opts != "" {
			opts = "-o " + opts
		}
		fmt.Fprintf(&s, "mount -t tmpfs %s tmpfs %s%s\n", opts, root, path)
	}
	for _, v := range o.volumes {
		src, dst, _ := strings.Cut(v, ":")
		fmt.Fprintf(&s, "mkdir -p %[2]s%[3]s\nmount --bind %[1]s %[2]s%[3]s\n", src, root, dst)
	}
	if o.readOnly {
		fmt.Fprintf(&s, "mount -o remount,ro,bind %s\n", root)
	}
	fmt.Fprintf(&s, "hostname %s\nip link set lo up\nwhile [ ! -e %s ]; do sleep 0.02; done\n", name, goFile)
	argv := o.argv
	if o.user != "" {
		uid, gid, _ := strings.Cut(o.user, ":")
		argv = append([]string{"setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups"}, argv...)
	}
	fmt.Fprintf(&s, "exec chroot %s %s\n", root, shellQuote(argv))
	return s.String()
}

func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// firstChild waits for the child that unshare or nsenter forks.
func firstChild(pid int) (int, error) {
	path := fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		if f := strings.Fields(string(b)); len(f) > 0 {
			return strconv.Atoi(f[0])
		}
	}
	return 0, fmt.Errorf("no child of pid %d", pid)
}

func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func (n *namespaces) get(name string) *box {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.boxes[name]
}

func (n *namespaces) exec(user, name string, argv []string) (string, error) {
	b := n.get(name)
	if b == nil {
		return "", fmt.Errorf("no container %s", name)
	}
	args := []string{"-t", strconv.Itoa(b.pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--"}
	if user == "nobody" {
		args = append(args, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
	} else if user != "" {
		return "", fmt.Errorf("exec -u %s: the namespace engine knows nobody only", user)
	}
	cmd := exec.Command("nsenter", append(args, argv...)...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (n *namespaces) logs(name string) string {
	if b := n.get(name); b != nil {
		return strings.TrimSpace(b.out.String())
	}
	return ""
}

func (n *namespaces) stop(name string, grace int) (int, error) {
	b := n.get(name)
	if b == nil {
		return 0, fmt.Errorf("no container %s", name)
	}
	_ = syscall.Kill(b.pid, syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(time.Duration(grace) * time.Second):
		_ = syscall.Kill(b.pid, syscall.SIGKILL)
		<-b.done
	}
	return b.code, nil
}

func (n *namespaces) rm(name string) {
	b := n.get(name)
	if b == nil {
		return
	}
	_ = syscall.Kill(b.pid, syscall.SIGKILL)
	_ = b.cmd.Process.Kill()
	<-b.done
	os.RemoveAll(b.dir)
	n.mu.Lock()
	delete(n.boxes, name)
	n.mu.Unlock()
}

// network makes a bridge with PREFIX.1; containers get .2, .3, ...
func (n *namespaces) network(name, subnet string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.nets[name]; ok {
		return nil
	}
	n.seq++
	br := &bridge{dev: fmt.Sprintf("e2ebr%d", n.seq), prefix: subnet[:strings.LastIndexByte(subnet, '.')+1], next: 2}
	script := fmt.Sprintf("ip link add %[1]s type bridge && ip addr add %[2]s1/24 dev %[1]s && ip link set %[1]s up", br.dev, br.prefix)
	if err := command("sh", "-c", script); err != nil {
		return err
	}
	n.nets[name] = br
	return nil
}

func (n *namespaces) rmNetwork(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if br, ok := n.nets[name]; ok {
		_ = exec.Command("ip", "link", "del", br.dev).Run()
		delete(n.nets, name)
	}
}

// attach gives the container an eth0 on the bridge.
func (n *namespaces) attach(b *box, netName string) error {
	n.mu.Lock()
	br := n.nets[netName]
	if br == nil {
		n.mu.Unlock()
		return fmt.Errorf("no network %s", netName)
	}
	n.seq++
	host, peer := fmt.Sprintf("e2eh%d", n.seq), fmt.Sprintf("e2ec%d", n.seq)
	addr := fmt.Sprintf("%s%d/24", br.prefix, br.next)
	br.next++
	n.mu.Unlock()
	script := fmt.Sprintf(`set -e
ip link add %[1]s type veth peer name %[2]s
ip link set %[1]s master %[3]s up
ip link set %[2]s netns %[4]d
nsenter -t %[4]d -n sh -c 'ip link set %[2]s name eth0 && ip addr add %[5]s dev eth0 && ip link set eth0 up'`,
		host, peer, br.dev, b.pid, addr)
	return command("sh", "-c", script)
}

// stopAll ends every container and bridge (TestMain's teardown).
func (n *namespaces) stopAll() {
	for _, name := range func() []string {
		n.mu.Lock()
		defer n.mu.Unlock()
		var names []string
		for k := range n.boxes {
			names = append(names, k)
		}
		return names
	}() {
		n.rm(name)
	}
	for name := range n.nets {
		n.rmNetwork(name)
	}
}

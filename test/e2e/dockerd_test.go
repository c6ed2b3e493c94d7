//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// dockerEngine is the dockerd this suite started (nil cmd: one that was
// already running, left alone).
type dockerEngine struct {
	cmd       *exec.Cmd
	log       string
	ipForward []byte // net.ipv4.ip_forward before dockerd set it
}

// startEngine uses a running engine, or starts dockerd (overlay2, then vfs).
func startEngine() (*dockerEngine, error) {
	if exec.Command("docker", "info").Run() == nil {
		return &dockerEngine{}, nil
	}
	if _, err := exec.LookPath("dockerd"); err != nil {
		return nil, errors.New("dockerd is not installed (apt-get install docker.io)")
	}
	var last error
	for _, extra := range [][]string{nil, {"--storage-driver=vfs"}} {
		e, err := launchDockerd(extra)
		if err == nil {
			return e, nil
		}
		last = err
	}
	return nil, last
}

func launchDockerd(extra []string) (*dockerEngine, error) {
	log, err := os.CreateTemp("", "e2e-dockerd-*.log")
	if err != nil {
		return nil, err
	}
	forward, _ := os.ReadFile(ipForwardPath)
	args := append([]string{"--mtu=" + uplinkMTU()}, extra...)
	cmd := exec.Command("dockerd", args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting dockerd: %w", err)
	}
	log.Close()
	e := &dockerEngine{cmd: cmd, log: log.Name(), ipForward: forward}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if exec.Command("docker", "info").Run() == nil {
			return e, nil
		}
	}
	e.stop()
	out, _ := os.ReadFile(e.log)
	return nil, fmt.Errorf("dockerd %s did not answer docker info in 30 s: %s", strings.Join(args, " "), tail(string(out), 600))
}

// stop ends the dockerd this suite started, by its pid, and undoes the
// netfilter state it leaves behind (docs/docker-e2e.md, pitfall 2).
func (e *dockerEngine) stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = e.cmd.Process.Kill()
		<-done
	}
	undoDockerNetfilter()
	if len(e.ipForward) > 0 {
		_ = os.WriteFile(ipForwardPath, e.ipForward, 0o644)
	}
	os.Remove(e.log)
}

// Every rule and chain that names docker goes, FORWARD's policy is ACCEPT
// again, and docker0 is removed; ip_forward is put back by stop's caller.
func undoDockerNetfilter() {
	script := `iptables-save | grep -v -i docker | sed 's/^:FORWARD DROP/:FORWARD ACCEPT/' | iptables-restore; ip link del docker0`
	_ = exec.Command("sh", "-c", script).Run()
}

const ipForwardPath = "/proc/sys/net/ipv4/ip_forward"

// uplinkMTU is the MTU of the default route's device (docs/docker-e2e.md, pitfall 11).
func uplinkMTU() string {
	out, err := exec.Command("ip", "route", "show", "default").Output()
	fields := strings.Fields(string(out))
	for i, f := range fields {
		if f == "dev" && i+1 < len(fields) && err == nil {
			if b, err := os.ReadFile("/sys/class/net/" + fields[i+1] + "/mtu"); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
	}
	return "1500"
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Package e2e runs svinit's example image in a real Docker engine: the real
// memcached, keepalived and gearmand under svinit as PID 1, driven with
// docker exec, docker stop and docker logs. TestMain starts dockerd itself
// (and stops it, by its pid, at the end) and builds every image locally:
// no registry is reachable, so the Debian base comes from debootstrap +
// docker import (see ../shared/docs/docker-e2e.md).
//
// Where the engine cannot start, the suite says so loudly and runs the same
// service tree with the real daemons under unshare/nsenter instead; it never
// passes silently.
package e2e

import (
	"fmt"
	"os"
	"testing"
)

// fallback says why the namespace engine runs the suite instead of Docker
// (empty: Docker). SVINIT_E2E_ENGINE=namespaces asks for it, so that CI
// proves the fallback works too.
var fallback string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: must run as root (starts dockerd, makes namespaces)")
		return 1
	}
	if os.Getenv("SVINIT_E2E_ENGINE") == "namespaces" {
		return runNamespaces(m, "SVINIT_E2E_ENGINE=namespaces")
	}
	engine, err := startEngine()
	if err != nil {
		banner("NO DOCKER ENGINE: " + err.Error() + "\nRUNNING THE SAME CHECKS UNDER unshare/nsenter INSTEAD")
		return runNamespaces(m, err.Error())
	}
	defer engine.stop()
	if err := buildImages(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the images: %v\n", err)
		return 1
	}
	return m.Run()
}

func runNamespaces(m *testing.M, why string) int {
	fallback = why
	n, err := newNamespaces()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: namespace engine: %v\n", err)
		return 1
	}
	defer n.stopAll()
	eng = n
	fmt.Fprintf(os.Stderr, "e2e: engine: namespaces (%s)\n", why)
	return m.Run()
}

func banner(msg string) {
	line := "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	fmt.Fprintf(os.Stderr, "%s\n%s\n%s\n", line, msg, line)
}

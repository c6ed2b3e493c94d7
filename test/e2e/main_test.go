//go:build e2e

// Package e2e runs svinit's example image in a real Docker engine: the real
// memcached, keepalived and gearmand under svinit as PID 1, driven with
// docker exec, docker stop and docker logs. TestMain starts dockerd itself
// (and stops it, by its pid, at the end) and builds every image locally:
// no registry is reachable, so the Debian base comes from debootstrap +
// docker import (see docs/docker-e2e.md).
//
// Where the engine cannot start, the suite fails: the proof is real Docker.
// A developer without Docker may ask by name for the same checks on a
// home-made engine (unshare/nsenter, the real daemons):
// SVINIT_E2E_ENGINE=namespaces. CI never asks for it.
package e2e

import (
	"fmt"
	"os"
	"testing"
)

// fallback says why the namespace engine runs the suite instead of Docker
// (empty: Docker). Only SVINIT_E2E_ENGINE=namespaces asks for it.
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
		banner("NO DOCKER ENGINE: " + err.Error() + "\nthe Docker suite fails without Docker (SVINIT_E2E_ENGINE=namespaces runs\nits checks on a home-made engine instead, for a laptop; it proves less)")
		return 1
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

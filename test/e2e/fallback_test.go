package e2e

import "testing"

// requireDocker fails a Docker test loudly when no engine could be started.
func requireDocker(t *testing.T) {
	t.Helper()
	if fallback != "" {
		t.Fatalf("no Docker engine: %s", fallback)
	}
}

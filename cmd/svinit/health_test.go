package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/svinit/svinit/supervisor/svdir"
)

func TestHealthFailure(t *testing.T) {
	up := svdir.Report{State: "up", Want: "up", Normally: "up", Ready: true}
	with := func(f func(r *svdir.Report)) svdir.Report { r := up; f(&r); return r }
	for _, c := range []struct {
		name string
		r    svdir.Report
		want string
	}{
		{"up and ready", up, ""},
		{"healthy", with(func(r *svdir.Report) { r.Health = "healthy" }), ""},
		{"starting counts as its readiness says", with(func(r *svdir.Report) { r.Health = "starting" }), ""},
		{"unhealthy", with(func(r *svdir.Report) { r.Health, r.HealthOutput = "unhealthy", "connection refused" }), "unhealthy: connection refused"},
		{"unhealthy, health-action mark, ready", with(func(r *svdir.Report) { r.Health = "unhealthy" }), "unhealthy: "},
		{"up, not ready", with(func(r *svdir.Report) { r.Ready = false }), "not ready: up, not ready yet"},
		{"backoff", with(func(r *svdir.Report) { r.State, r.Ready, r.LastError = "backoff", false, "unable to start ./run" }), "not ready: backoff: unable to start ./run"},
		{"oneshot running", with(func(r *svdir.Report) { r.Kind, r.Ready = "oneshot", false }), "not ready: up, not ready yet"},
		{"oneshot done", with(func(r *svdir.Report) { r.Kind, r.State, r.Want = "oneshot", "done", "down" }), ""},
		{"scheduled, between runs", with(func(r *svdir.Report) { r.Kind, r.State, r.Want, r.Ready = "scheduled", "down", "down", false }), ""},
		{"scheduled, last run failed", with(func(r *svdir.Report) { r.Kind, r.State, r.Want, r.LastExit = "scheduled", "down", "down", "exit 1" }), ""},
		{"svc -d", with(func(r *svdir.Report) { r.State, r.Want, r.Ready = "down", "down", false }), ""},
		{"./down file", with(func(r *svdir.Report) { r.State, r.Want, r.Normally, r.Ready = "down", "down", "down", false }), ""},
		{"gave up", with(func(r *svdir.Report) {
			r.State, r.Want, r.Ready, r.LastError = "down", "down", false, "gave up after 4 failures in a row (max-restarts 3)"
		}), "down: gave up after 4 failures in a row (max-restarts 3)"},
		{"no svinit", svdir.Report{State: "unknown", Error: "supervise not running"}, "no status: supervise not running"},
	} {
		require.Equal(t, c.want, healthFailure(t.TempDir(), c.r), c.name)
	}
}

func TestHealthTree(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"b", "a/log", ".hidden"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	names, err := serviceNames(root)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "a/log", "b"}, names)

	var out bytes.Buffer
	require.Equal(t, 1, health(&out, root, time.Now()), "nothing supervises them")
	require.Equal(t, "a: no status: file does not exist\na/log: no status: file does not exist\nb: no status: file does not exist\n", out.String())

	out.Reset()
	require.Equal(t, 1, health(&out, filepath.Join(root, "none"), time.Now()))
	require.Equal(t, "unable to read "+filepath.Join(root, "none")+": file does not exist\n", out.String())

	out.Reset()
	require.Equal(t, 0, health(&out, filepath.Join(root, ".hidden"), time.Now()), "no service: nothing fails")
	require.Empty(t, out.String())

	require.Equal(t, 100, runHealth([]string{"-v"}))
	require.Equal(t, 100, runHealth([]string{"a", "b"}))
}

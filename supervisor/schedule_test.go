package supervisor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The schedule file, read as readConfig reads it, against a fixed clock:
// 5-field cron, descriptors, @every, and CRON_TZ; a bad one names the file.
func TestScheduleTimes(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600) // no tzdata here: the same offset in December
	}
	now := time.Date(2026, 12, 7, 23, 59, 30, 0, time.UTC)
	for _, c := range []struct {
		schedule string
		next     time.Time
	}{
		{"*/15 * * * *", time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)},
		{"30 2 * * 1", time.Date(2026, 12, 14, 2, 30, 0, 0, time.UTC)}, // Mondays 02:30
		{"@hourly", time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)},
		{"@daily", time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)},
		{"@every 10m", now.Add(10 * time.Minute)},
		{"CRON_TZ=Europe/Berlin 0 6 * * *", time.Date(2026, 12, 8, 6, 0, 0, 0, berlin)},
	} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "schedule"), []byte(c.schedule+"\n"), 0o644))
		cfg, errs := readConfig(dir)
		require.Empty(t, errs, c.schedule)
		require.Equal(t, scheduled, cfg.kind)
		require.True(t, c.next.Equal(cfg.schedule.Next(now.In(time.UTC))), "%s: next %v, want %v", c.schedule, cfg.schedule.Next(now), c.next)
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schedule"), []byte("every day\n"), 0o644))
	cfg, errs := readConfig(dir)
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].Error(), dir+"/schedule: not a schedule")
	require.Equal(t, scheduled, cfg.kind, "still a job")
	require.Nil(t, cfg.schedule, "but never run")
}

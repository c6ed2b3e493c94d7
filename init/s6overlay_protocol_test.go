package pid1

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseArgsProtocol(t *testing.T) {
	cfg, err := ParseArgs([]string{"--protocol", "s6", "-s", "/run/service"}, env(nil))
	require.NoError(t, err)
	require.Equal(t, "s6", cfg.Protocol)
	cfg, err = ParseArgs(nil, env(nil))
	require.NoError(t, err)
	require.Empty(t, cfg.Protocol, "no flag: $SVINIT_PROTOCOL decides (supervisor)")
	_, err = ParseArgs([]string{"--protocol", "s7"}, env(nil))
	require.ErrorContains(t, err, `protocol "s7": s6 or daemontools`)
}

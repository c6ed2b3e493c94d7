package getopt

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// glibc's rules: permutation, clusters, attached and separate values, long
// prefixes, and its messages.
func TestGNU(t *testing.T) {
	p := Parser{Prog: "tini", Short: "p:hvwgle:s", Long: map[string]rune{"rewrite": 'r', "verbose": 'v'}, LongArg: map[string]bool{"rewrite": true}}
	opts, ops := p.Parse([]string{"-vv", "ls", "-e1", "-e", "2", "--verb", "--rewrite=15:2", "x"})
	require.Equal(t, []Opt{{'v', "", 0}, {'v', "", 0}, {'e', "1", 0}, {'e', "2", 0}, {'v', "", 0}, {'r', "15:2", 0}}, opts)
	require.Equal(t, []string{"ls", "x"}, ops, "operands permuted to the end")
	opts, _ = p.Parse([]string{"-q"})
	require.Equal(t, []Opt{{'?', "tini: invalid option -- 'q'\n", 'q'}}, opts)
	opts, _ = p.Parse([]string{"-e"})
	require.Equal(t, []Opt{{'?', "tini: option requires an argument -- 'e'\n", 'e'}}, opts)
	p.StopAtOperand = true
	_, ops = p.Parse([]string{"-v", "ls", "-l"})
	require.Equal(t, []string{"ls", "-l"}, ops, "the first operand ends the options")
}

// The classic rules: the first operand ends the options; a value missing at
// the end is "" (daemontools' sgetopt).
func TestClassic(t *testing.T) {
	p := Parser{Short: "dxw:", StopAtOperand: true, MissingOK: true}
	opts, ops := p.Parse([]string{"-dx", "-w"})
	require.Equal(t, []Opt{{'d', "", 0}, {'x', "", 0}, {'w', "", 0}}, opts)
	require.Empty(t, ops)
}

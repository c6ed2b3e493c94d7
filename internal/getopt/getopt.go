// Package getopt is svinit's one reader of command-line options: glibc's
// getopt_long rules for the tini and dumb-init drop-ins, and, with
// StopAtOperand and MissingOK, the classic rules of daemontools' and runit's
// tools (clusters, values attached or in the next argument, "--" or the
// first operand ends the options).
package getopt

import (
	"fmt"
	"strings"
)

// Parser reads options as glibc's getopt_long does, because tini and
// dumb-init use it and scripts depend on its quirks: clusters (-vvv), values
// attached or in the next argument (-e1, -e 1, --rewrite=15:2, --rewrite
// 15:2), unambiguous prefixes of long options (--verb), and, unless
// stopAtOperand (dumb-init's "+") or POSIXLY_CORRECT, options after the
// program too: "tini ls -l" reads -l as tini's own option, which is why
// tini's usage says "PROGRAM -- [ARGS]".
type Parser struct {
	Prog          string          // argv[0] as given, for glibc's messages
	Short         string          // getopt's optstring without a leading '+'
	Long          map[string]rune // long name → the short letter it stands for
	LongArg       map[string]bool // long options taking a value
	StopAtOperand bool            // the first operand ends the options (getopt's "+", POSIXLY_CORRECT)
	MissingOK     bool            // a value missing at the end is "" (daemontools' sgetopt), not an error
}

// Opt is one option read: its letter ('?' for an error, with the message
// glibc prints in Val, and the offending letter in Bad, 0 for a long
// option) and its value.
type Opt struct {
	Letter rune
	Val    string
	Bad    rune
}

// parse returns the options in order up to and including the first error,
// and the operands (the program and its arguments).
func (g Parser) Parse(args []string) (opts []Opt, operands []string) {
	var later []string // operands met before the last option (permuted)
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if g.StopAtOperand {
				break
			}
			later = append(later, a)
			continue
		}
		if strings.HasPrefix(a, "--") {
			o, used := g.longOpt(a[2:], args[i+1:])
			i += used
			opts = append(opts, o)
			if o.Letter == '?' {
				return opts, nil
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			c := rune(a[j])
			k := strings.IndexRune(g.Short, c)
			if k < 0 || c == ':' {
				return append(opts, Opt{'?', fmt.Sprintf("%s: invalid option -- '%c'\n", g.Prog, c), c}), nil
			}
			if k+1 < len(g.Short) && g.Short[k+1] == ':' {
				val := a[j+1:]
				if val == "" {
					switch {
					case i+1 < len(args):
						i++
						val = args[i]
					case !g.MissingOK:
						return append(opts, Opt{'?', fmt.Sprintf("%s: option requires an argument -- '%c'\n", g.Prog, c), c}), nil
					}
				}
				opts = append(opts, Opt{c, val, 0})
				break
			}
			opts = append(opts, Opt{c, "", 0})
		}
	}
	return opts, append(later, args[i:]...)
}

// longOpt reads --name[=value] (name without its dashes); used is how many
// of the following arguments it took as its value.
func (g Parser) longOpt(a string, next []string) (o Opt, used int) {
	name, val, hasVal := strings.Cut(a, "=")
	full := ""
	if _, ok := g.Long[name]; ok {
		full = name
	} else {
		var matches []string
		for n := range g.Long {
			if strings.HasPrefix(n, name) {
				matches = append(matches, n)
			}
		}
		switch len(matches) {
		case 0:
			return Opt{'?', fmt.Sprintf("%s: unrecognized option '--%s'\n", g.Prog, name), 0}, 0
		case 1:
			full = matches[0]
		default:
			sortStrings(matches)
			return Opt{'?', fmt.Sprintf("%s: option '--%s' is ambiguous; possibilities: '--%s'\n",
				g.Prog, name, strings.Join(matches, "' '--")), 0}, 0
		}
	}
	c := g.Long[full]
	switch {
	case g.LongArg[full] && hasVal:
		return Opt{c, val, 0}, 0
	case g.LongArg[full] && len(next) > 0:
		return Opt{c, next[0], 0}, 1
	case g.LongArg[full]:
		return Opt{'?', fmt.Sprintf("%s: option '--%s' requires an argument\n", g.Prog, full), 0}, 0
	case hasVal:
		return Opt{'?', fmt.Sprintf("%s: option '--%s' doesn't allow an argument\n", g.Prog, full), 0}, 0
	}
	return Opt{c, "", 0}, 0
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

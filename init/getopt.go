package pid1

import (
	"fmt"
	"strings"
)

// gnuGetopt reads options as glibc's getopt_long does, because tini and
// dumb-init use it and scripts depend on its quirks: clusters (-vvv), values
// attached or in the next argument (-e1, -e 1, --rewrite=15:2, --rewrite
// 15:2), unambiguous prefixes of long options (--verb), and, unless
// stopAtOperand (dumb-init's "+") or POSIXLY_CORRECT, options after the
// program too: "tini ls -l" reads -l as tini's own option, which is why
// tini's usage says "PROGRAM -- [ARGS]".
type gnuGetopt struct {
	prog          string          // argv[0] as given, for glibc's messages
	short         string          // getopt's optstring without a leading '+'
	long          map[string]rune // long name → the short letter it stands for
	longArg       map[string]bool // long options taking a value
	stopAtOperand bool
}

// gnuOpt is one option read: its letter ('?' for an error, with the
// message glibc prints in val) and its value.
type gnuOpt struct {
	letter rune
	val    string
}

// parse returns the options in order up to and including the first error,
// and the operands (the program and its arguments).
func (g gnuGetopt) parse(args []string) (opts []gnuOpt, operands []string) {
	var later []string // operands met before the last option (permuted)
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			if g.stopAtOperand {
				break
			}
			later = append(later, a)
			continue
		}
		if strings.HasPrefix(a, "--") {
			o, used := g.longOpt(a[2:], args[i+1:])
			i += used
			opts = append(opts, o)
			if o.letter == '?' {
				return opts, nil
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			c := rune(a[j])
			k := strings.IndexRune(g.short, c)
			if k < 0 || c == ':' {
				return append(opts, gnuOpt{'?', fmt.Sprintf("%s: invalid option -- '%c'\n", g.prog, c)}), nil
			}
			if k+1 < len(g.short) && g.short[k+1] == ':' {
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return append(opts, gnuOpt{'?', fmt.Sprintf("%s: option requires an argument -- '%c'\n", g.prog, c)}), nil
					}
					i++
					val = args[i]
				}
				opts = append(opts, gnuOpt{c, val})
				break
			}
			opts = append(opts, gnuOpt{c, ""})
		}
	}
	return opts, append(later, args[i:]...)
}

// longOpt reads --name[=value] (name without its dashes); used is how many
// of the following arguments it took as its value.
func (g gnuGetopt) longOpt(a string, next []string) (o gnuOpt, used int) {
	name, val, hasVal := strings.Cut(a, "=")
	full := ""
	if _, ok := g.long[name]; ok {
		full = name
	} else {
		var matches []string
		for n := range g.long {
			if strings.HasPrefix(n, name) {
				matches = append(matches, n)
			}
		}
		switch len(matches) {
		case 0:
			return gnuOpt{'?', fmt.Sprintf("%s: unrecognized option '--%s'\n", g.prog, name)}, 0
		case 1:
			full = matches[0]
		default:
			sortStrings(matches)
			return gnuOpt{'?', fmt.Sprintf("%s: option '--%s' is ambiguous; possibilities: '--%s'\n",
				g.prog, name, strings.Join(matches, "' '--"))}, 0
		}
	}
	c := g.long[full]
	switch {
	case g.longArg[full] && hasVal:
		return gnuOpt{c, val}, 0
	case g.longArg[full] && len(next) > 0:
		return gnuOpt{c, next[0]}, 1
	case g.longArg[full]:
		return gnuOpt{'?', fmt.Sprintf("%s: option '--%s' requires an argument\n", g.prog, full)}, 0
	case hasVal:
		return gnuOpt{'?', fmt.Sprintf("%s: option '--%s' doesn't allow an argument\n", g.prog, full)}, 0
	}
	return gnuOpt{c, ""}, 0
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

package main

import getoptpkg "github.com/svinit/svinit/internal/getopt"

// getopt parses single-letter options the classic way (daemontools' and
// runit's tools): clusters (-dx), values attached or in the next argument
// (-w5, -w 5), "--" or the first non-option ends them. It returns the
// options in order, the operands, and the first unknown option letter (0
// if none). internal/getopt is the one parser; this keeps the applets'
// shape.
func getopt(args []string, letters string) (opts []opt, rest []string, bad byte) {
	parsed, rest := getoptpkg.Parser{Short: letters, StopAtOperand: true, MissingOK: true}.Parse(args)
	for _, o := range parsed {
		if o.Letter == '?' {
			if o.Bad == 0 {
				return opts, nil, '-' // "--name": no long options here, as sgetopt
			}
			return opts, nil, byte(o.Bad)
		}
		opts = append(opts, opt{byte(o.Letter), o.Val})
	}
	return opts, rest, 0
}

type opt struct {
	letter byte
	value  string
}

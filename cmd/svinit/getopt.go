package main

import "strings"

// getopt parses single-letter options the classic way: clusters (-dx),
// values attached or in the next argument (-w5, -w 5), "--" or the first
// non-option ends them. It returns the options in order, the operands, and
// the first unknown option letter (0 if none).
func getopt(args []string, letters string) (opts []opt, rest []string, bad byte) {
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(letters, c)
			if k < 0 || c == ':' {
				return opts, nil, c
			}
			if k+1 < len(letters) && letters[k+1] == ':' {
				val := a[j+1:]
				if val == "" && i+1 < len(args) {
					i++
					val = args[i]
				}
				opts = append(opts, opt{c, val})
				break
			}
			opts = append(opts, opt{c, ""})
		}
	}
	return opts, args[i:], 0
}

type opt struct {
	letter byte
	value  string
}

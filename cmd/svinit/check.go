package main

import (
	"fmt"
	"os"

	"github.com/svinit/svinit/supervisor"
)

// runCheck is "svinit check [DIR]": lint a service tree without starting
// anything; one line per problem, exit 1 if there is any (100 on usage).
func runCheck(args []string) int {
	dir := "/service"
	switch len(args) {
	case 0:
	case 1:
		dir = args[0]
	default:
		fmt.Fprintln(os.Stderr, "svinit check: usage: svinit check [DIR]")
		return 100
	}
	problems := supervisor.Lint(dir)
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		return 1
	}
	return 0
}

package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/svinit/svinit/internal/chain"
)

// s6's chain-loading names (docs/s6-protocol.md), on svinit's chain code.
// Exit codes are s6's: 100 for usage, 111 for a system failure.

func s6Usage(name, text string) int {
	fmt.Fprintf(os.Stderr, "%s: usage: %s\n", name, text)
	return 100
}

func s6Fatal(name, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "%s: fatal: %s\n", name, fmt.Sprintf(format, args...))
	return 111
}

// s6Account is "user" (its groups from the group database) or "uid:gid".
func s6Account(spec string) (chain.Account, error) {
	if u, g, ok := strings.Cut(spec, ":"); ok {
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(g)
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return chain.Account{}, fmt.Errorf("invalid uid:gid %s", spec)
		}
		return chain.Account{UID: uid, GID: gid, Groups: []int{gid}}, nil
	}
	u, err := user.Lookup(spec)
	if err != nil {
		return chain.Account{}, fmt.Errorf("unknown user: %s", spec)
	}
	a := chain.Account{}
	a.UID, _ = strconv.Atoi(u.Uid)
	a.GID, _ = strconv.Atoi(u.Gid)
	a.Groups = []int{a.GID}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != a.GID {
				a.Groups = append(a.Groups, g)
			}
		}
	}
	return a, nil
}

// runS6Setuidgid is s6-setuidgid ACCOUNT PROG...
func runS6Setuidgid(args []string) int {
	const name, use = "s6-setuidgid", "s6-setuidgid username prog..."
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		return s6Usage(name, use)
	}
	a, err := s6Account(args[0])
	if err != nil {
		return s6Fatal(name, "%v", err)
	}
	if err := a.Become(); err != nil {
		return s6Fatal(name, "%v", err)
	}
	return run(name, args[1:])
}

// runS6Envuidgid is s6-envuidgid [-u|-g|-B] ACCOUNT PROG...: $UID, $GID and
// $GIDLIST (the supplementary groups, comma-separated).
func runS6Envuidgid(args []string) int {
	const name, use = "s6-envuidgid", "s6-envuidgid [ -u | -g | -B ] account prog..."
	opts, rest, bad := getopt(args, "ugB")
	if bad != 0 || len(rest) < 2 {
		return s6Usage(name, use)
	}
	what := 3
	for _, o := range opts {
		what = map[byte]int{'u': 1, 'g': 2, 'B': 3}[o.letter]
	}
	a, err := s6Account(rest[0])
	if err != nil {
		return s6Fatal(name, "%v", err)
	}
	if what&1 != 0 {
		os.Setenv("UID", strconv.Itoa(a.UID))
	}
	if what&2 != 0 {
		os.Setenv("GID", strconv.Itoa(a.GID))
		var list []string
		for _, g := range a.Groups[1:] {
			list = append(list, strconv.Itoa(g))
		}
		os.Setenv("GIDLIST", strings.Join(list, ","))
	}
	return run(name, rest[1:])
}

// runS6Applyuidgid is s6-applyuidgid [-z] [-u uid] [-g gid] [-G gidlist] [-U] PROG...
func runS6Applyuidgid(args []string) int {
	const name, use = "s6-applyuidgid", "s6-applyuidgid [ -z ] [ -u uid ] [ -g gid ] [ -G gidlist ] [ -U ] prog..."
	opts, rest, bad := getopt(args, "zUu:g:G:")
	if bad != 0 || len(rest) == 0 {
		return s6Usage(name, use)
	}
	uid, gid, groups, unexport := -1, -1, []int(nil), false
	num := func(s string) (int, bool) { n, err := strconv.Atoi(s); return n, err == nil && n >= 0 }
	list := func(s string) ([]int, bool) {
		out := []int{}
		for _, f := range strings.Split(s, ",") {
			if f == "" {
				continue
			}
			n, ok := num(f)
			if !ok {
				return nil, false
			}
			out = append(out, n)
		}
		return out, true
	}
	var ok bool
	for _, o := range opts {
		switch o.letter {
		case 'z':
			unexport = true
		case 'u':
			if uid, ok = num(o.value); !ok {
				return s6Usage(name, use)
			}
		case 'g':
			if gid, ok = num(o.value); !ok {
				return s6Usage(name, use)
			}
		case 'G':
			if groups, ok = list(o.value); !ok {
				return s6Usage(name, use)
			}
		case 'U':
			for _, v := range []string{"UID", "GID", "GIDLIST"} {
				if _, set := os.LookupEnv(v); !set {
					return s6Fatal(name, "%s not set", v)
				}
			}
			u, ok1 := num(os.Getenv("UID"))
			g, ok2 := num(os.Getenv("GID"))
			l, ok3 := list(os.Getenv("GIDLIST"))
			if !ok1 || !ok2 || !ok3 {
				return s6Fatal(name, "invalid UID, GID or GIDLIST")
			}
			uid, gid, groups = u, g, l
		}
	}
	if unexport {
		for _, v := range []string{"UID", "GID", "GIDLIST"} {
			os.Unsetenv(v)
		}
	}
	return run(name, rest, func() error {
		if groups != nil {
			if err := syscall.Setgroups(groups); err != nil {
				return fmt.Errorf("unable to setgroups: %w", err)
			}
		}
		if gid >= 0 {
			if err := syscall.Setgid(gid); err != nil {
				return fmt.Errorf("unable to setgid: %w", err)
			}
		}
		if uid >= 0 {
			if err := syscall.Setuid(uid); err != nil {
				return fmt.Errorf("unable to setuid: %w", err)
			}
		}
		return nil
	})
}

// runS6Softlimit is s6-softlimit: softlimit's letters (-h and -H, hard
// limits, are refused: svinit sets soft limits only).
func runS6Softlimit(args []string) int {
	const name = "s6-softlimit"
	for _, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		if strings.ContainsAny(a[1:2], "hH") {
			return s6Fatal(name, "option %s (hard limits) is not supported by svinit", a)
		}
	}
	return runSoftlimit(args)
}

// runS6Envdir is s6-envdir [-I|-i] DIR PROG...: daemontools' envdir; -I
// lets DIR be missing. -n, -f, -L and -c are refused by name.
func runS6Envdir(args []string) int {
	const name, use = "s6-envdir", "s6-envdir [ -I | -i ] [ -n ] [ -f ] [ -L ] [ -c nullchar ] dir prog..."
	opts, rest, bad := getopt(args, "IinfLc:")
	if bad != 0 || len(rest) < 2 {
		return s6Usage(name, use)
	}
	insist := true
	for _, o := range opts {
		switch o.letter {
		case 'I':
			insist = false
		case 'i':
			insist = true
		default:
			return s6Fatal(name, "option -%c is not supported by svinit", o.letter)
		}
	}
	if err := chain.Envdir(rest[0], nil); err != nil {
		if _, serr := os.Stat(rest[0]); insist || !os.IsNotExist(serr) {
			return s6Fatal(name, "unable to envdir %s: %v", rest[0], err)
		}
	}
	return run(name, rest[1:])
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// install makes DIR/svc, DIR/svstat, ... symlinks to this binary.
func install(dir string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "svinit: fatal: unable to find my own path: %v\n", err)
		return 111
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "svinit: fatal: unable to create %s: %v\n", dir, err)
		return 111
	}
	for _, name := range linked {
		link := filepath.Join(dir, name)
		target := self
		if filepath.Dir(self) == filepath.Clean(dir) {
			target = filepath.Base(self)
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			fmt.Fprintf(os.Stderr, "svinit: fatal: unable to link %s: %v\n", link, err)
			return 111
		}
	}
	return 0
}

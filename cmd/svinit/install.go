package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/svinit/svinit/internal/errstr"
)

// install makes DIR/svc, DIR/svstat, ... symlinks to this binary.
func install(dir string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "svinit: fatal: unable to find my own path: %s\n", errstr.Text(err))
		return 111
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "svinit: fatal: unable to create %s: %s\n", dir, errstr.Text(err))
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
			fmt.Fprintf(os.Stderr, "svinit: fatal: unable to link %s: %s\n", link, errstr.Text(err))
			return 111
		}
	}
	return 0
}

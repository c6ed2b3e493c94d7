//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The images the suite builds, all locally.
const (
	baseImage   = "local/debian:bookworm" // debootstrap + docker import
	goImage     = "local/golang:e2e"      // the base with this machine's Go: the top-level Dockerfile's GO_IMAGE
	svinitImage = "local/svinit:e2e"      // the top-level Dockerfile
	appImage    = "local/app:e2e"         // images/memcached-keepalived-gearmand
)

// rootfsCache keeps the debootstrap tarball between runs on one machine.
const rootfsCache = "/var/cache/svinit-e2e/bookworm.tar"

// buildTimes records how long each image took, for the report.
var buildTimes = map[string]time.Duration{}

func buildImages() error {
	steps := []struct {
		image string
		build func() error
	}{
		{baseImage, importBase},
		{goImage, buildGoImage},
		{svinitImage, func() error {
			return dockerBuild("../..", svinitImage, "GO_IMAGE="+goImage)
		}},
		{appImage, func() error {
			return dockerBuild("../../images/memcached-keepalived-gearmand", appImage,
				"SVINIT_IMAGE="+svinitImage, "BASE_IMAGE="+baseImage)
		}},
	}
	for _, s := range steps {
		began := time.Now()
		if err := s.build(); err != nil {
			return fmt.Errorf("%s: %w", s.image, err)
		}
		buildTimes[s.image] = time.Since(began)
	}
	return nil
}

func imageExists(name string) bool {
	return exec.Command("docker", "image", "inspect", name).Run() == nil
}

// importBase makes the Debian base image from a debootstrap tree.
func importBase() error {
	if imageExists(baseImage) {
		return nil
	}
	if _, err := os.Stat(rootfsCache); err != nil {
		if err := debootstrap(rootfsCache); err != nil {
			return err
		}
	}
	return command("docker", "import", rootfsCache, baseImage)
}

func debootstrap(tarball string) error {
	if err := os.MkdirAll(filepath.Dir(tarball), 0o755); err != nil {
		return err
	}
	root, err := os.MkdirTemp(filepath.Dir(tarball), "rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if err := command("debootstrap", "--variant=minbase", "bookworm", root, "http://deb.debian.org/debian"); err != nil {
		return err
	}
	clean := fmt.Sprintf("rm -rf %[1]s/var/cache/apt/archives/*.deb %[1]s/var/lib/apt/lists/* && tar --numeric-owner -C %[1]s -cf %[2]s.new . && mv %[2]s.new %[2]s", root, tarball)
	return command("sh", "-c", clean)
}

// buildGoImage is the base plus this machine's Go toolchain and CA bundle
// (the module proxy may be reached through a proxy with its own CA), sent
// to docker build as a tar stream so nothing is copied to disk.
func buildGoImage() error {
	if imageExists(goImage) {
		return nil
	}
	ctx, err := os.MkdirTemp("", "e2e-go-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctx)
	dockerfile := "FROM " + baseImage + "\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n" +
		"COPY go /usr/local/go\nENV PATH=/usr/local/go/bin:$PATH\n"
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ctx, "ca-certificates.crt"), ca, 0o644); err != nil {
		return err
	}
	goroot := runtime.GOROOT()
	script := fmt.Sprintf("tar -cf - -C %s Dockerfile ca-certificates.crt -C %s %s | docker build -q -t %s -",
		ctx, filepath.Dir(goroot), filepath.Base(goroot), goImage)
	if filepath.Base(goroot) != "go" {
		return fmt.Errorf("GOROOT %s: expected a directory named go", goroot)
	}
	return command("sh", "-c", script)
}

func dockerBuild(dir, tag string, buildArgs ...string) error {
	args := []string{"build", "-q", "-t", tag}
	for _, a := range buildArgs {
		args = append(args, "--build-arg", a)
	}
	return command("docker", append(args, dir)...)
}

// command runs a setup command, its output kept for the error.
func command(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(string(out), 2000))
	}
	return nil
}

# svinit: a static PID 1 and service supervisor in a minimal image.
#
#   docker build -t svinit .
#   # in your own image:
#   COPY --from=svinit /sbin/ /usr/local/sbin/   # svinit and its svc, svstat, svok, sv, ... links
#   COPY service/ /service/
#   ENTRYPOINT ["/usr/local/sbin/svinit"]
#
# GO_IMAGE lets a machine without a registry build from a local Go image
# (test/e2e makes one from the host's toolchain). images/memcached-keepalived-gearmand
# is a complete example.
ARG GO_IMAGE=golang:1.26-bookworm
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# -tags quietsysmon -ldflags=-checklinkname=0: an idle svinit is never on a
# CPU, not even the Go runtime's sysmon thread (init/sysmon_quiet.go).
RUN CGO_ENABLED=0 go build -trimpath -tags quietsysmon -ldflags='-s -w -checklinkname=0' -o /out/sbin/svinit ./cmd/svinit \
 && /out/sbin/svinit --install /out/sbin

FROM scratch
COPY --from=build /out/sbin/ /sbin/
ENTRYPOINT ["/sbin/svinit"]

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
# The release build (defined once, in cmd/svinit/release-build).
RUN sh cmd/svinit/release-build /out/sbin/svinit \
 && /out/sbin/svinit --install /out/sbin

FROM scratch
COPY --from=build /out/sbin/ /sbin/
ENTRYPOINT ["/sbin/svinit"]

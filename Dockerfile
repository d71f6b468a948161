# syntax=docker/dockerfile:1
# oauthd: a static binary on a distroless base, running as a non-root user.
#   docker build -t oauthd .
#   docker run -e OAUTHD_DATABASE_URL=... -e OAUTHD_MASTER_KEY=... -p 8080:8080 oauthd
# The default command is `oauthd serve`; other subcommands work too, e.g.
#   docker run --rm -e OAUTHD_DATABASE_URL=... oauthd migrate

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/oauthd ./cmd/oauthd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oauthd /usr/local/bin/oauthd
# distroless "nonroot" is uid/gid 65532; nothing in the image runs as root.
USER 65532:65532
# Inside a container the service must listen on all interfaces.
ENV OAUTHD_LISTEN=0.0.0.0:8080
EXPOSE 8080
# Exec form: oauthd is PID 1 and gets SIGTERM directly, so `docker stop`
# drains in-flight requests (within OAUTHD_SHUTDOWN_GRACE_SECONDS, 20 s).
ENTRYPOINT ["/usr/local/bin/oauthd"]
CMD ["serve"]

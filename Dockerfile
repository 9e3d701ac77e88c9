# attache's container image: `docker build -t attache .`, then `docker run --rm -p 8080:8080 -p 9901:9901 attache`
# serves the demo; give your own flags (e.g. --protos /etc/attache/protos --mappings /etc/attache/mappings
# --upstream HOST:PORT) to replace the demo. docs/deploy.md covers the image and k8s/.
#
# Two stages: `build` compiles with the dev dependencies; the runtime stage carries only the single bundled
# dist/attache.js and its launcher dist/cli.js (scripts/bundle.mjs: it needs no node_modules), package.json (attache finds its own folder and
# version there) and the proto folders. Both bases are the same Node LTS release, pinned by version.

FROM node:24.22.3-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/ scripts/
COPY src/ src/
RUN npm run build
# Node's compile cache of the bundle, for the runtime stage: made here, as the image's user (Node keeps one
# cache per user id) and "portable" (entries keyed by their path relative to the cache folder, so it is found
# again under /app), then made readable to all.
RUN mkdir .compile-cache && chown 1000:1000 .compile-cache
USER 1000:1000
RUN NODE_COMPILE_CACHE=.compile-cache NODE_COMPILE_CACHE_PORTABLE=1 node dist/cli.js --version && chmod -R a+rX .compile-cache

FROM node:24.22.3-trixie-slim AS runtime
# No NODE_OPTIONS: inside a memory limit under 1 GiB attache sizes V8's young generation itself, from the
# limit it sees (8 MiB semi-spaces in a 128 MiB pod, 16 MiB from 256 MiB; it restarts node once at start-up,
# same PID). A fixed --max-semi-space-size here would override that for every limit and reach every node
# process in the container (docs/performance.md, "Heap settings in a pod").
ENV NODE_ENV=production
# glibc's malloc maps allocations of 32 KiB and more on their own and returns them when they are freed: the
# memory V8 compiles in, which glibc's heaps would otherwise keep (~13–20 MiB of the peak under load,
# src/ops/malloc-settings.ts). Set here, the launcher need not restart node at every start to set it.
ENV MALLOC_MMAP_THRESHOLD_=32768
# Every start of a container is a first start: the launcher's compile cache (dist/cli.js) comes with the
# image, read-only, so that no start compiles the 1.8 MB bundle: ~80–95 ms less CPU until ready
# (bench/RESULTS.md §21). It matches this image's Node and user 1000; run as another user, or with node flags
# that change how V8 compiles, a start compiles as before.
ENV NODE_COMPILE_CACHE=/app/.compile-cache NODE_COMPILE_CACHE_PORTABLE=1
WORKDIR /app
COPY package.json ./
COPY third_party/ third_party/
COPY protos/ protos/
COPY mappings/ mappings/
COPY --from=build /src/dist/cli.js /src/dist/attache.js /src/dist/attache.js.map /src/dist/attache.js.LEGAL.txt dist/
# The API reference page (/docs on the admin port): its own bundle, loaded on first use, and its assets.
COPY --from=build /src/dist/docs-ui.js /src/dist/docs-ui.js.LEGAL.txt dist/
COPY --from=build /src/dist/docs-ui/ dist/docs-ui/
COPY --from=build /src/.compile-cache/ .compile-cache/
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it. Nothing is written at
# run time (logs go to stdout; the compile cache is the image's), so the root filesystem can be mounted
# read-only.
USER 1000:1000
EXPOSE 8080 9901
# node is PID 1 with no init: attache handles SIGTERM and SIGINT itself (drain, then exit 0) and SIGHUP
# (reload), and the only children it starts are --workers, which node:cluster waits for, so no zombies.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["--demo"]

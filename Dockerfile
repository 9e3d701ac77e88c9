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

FROM node:24.22.3-trixie-slim AS runtime
# No NODE_OPTIONS: inside a memory limit under 1 GiB attache sizes V8's young generation itself, from the
# limit it sees (8 MiB semi-spaces in a 128 MiB pod, 16 MiB from 256 MiB; it restarts node once at start-up,
# same PID). A fixed --max-semi-space-size here would override that for every limit and reach every node
# process in the container (docs/performance.md, "Heap settings in a pod").
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY third_party/ third_party/
COPY protos/ protos/
COPY mappings/ mappings/
COPY --from=build /src/dist/cli.js /src/dist/attache.js /src/dist/attache.js.map /src/dist/attache.js.LEGAL.txt dist/
# The API reference page (/docs on the admin port): its own bundle, loaded on first use, and its assets.
COPY --from=build /src/dist/docs-ui.js /src/dist/docs-ui.js.LEGAL.txt dist/
COPY --from=build /src/dist/docs-ui/ dist/docs-ui/
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it. Nothing is written at
# run time but Node's compile cache in /tmp, when it can be (logs go to stdout), so the root filesystem can
# be mounted read-only.
USER 1000:1000
EXPOSE 8080 9901
# node is PID 1 with no init: attache handles SIGTERM and SIGINT itself (drain, then exit 0) and SIGHUP
# (reload), and the only children it starts are --workers, which node:cluster waits for, so no zombies.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["--demo"]

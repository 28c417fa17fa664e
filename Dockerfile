# One image for every role of Patchwork; the command picks it:
#   docker run IMAGE gateway     (the GraphQL gateway and its job actors)
#   docker run IMAGE kernel      (a kernel node)
# The sources run as TypeScript through tsx, as `bin/patchwork` does in a checkout (tsx is a
# runtime dependency). Debian, not Alpine: sharp's prebuilt libvips is for glibc.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: everything, dev dependencies included, to bundle the web page ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall applies the fixes in patches/ to dependencies (patch-package).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
# The web page (served by the gateway from src/gateway/web/dist) is bundled here when the
# project has the script for it.
RUN npm run build:web --if-present

# --- runtime: production dependencies and the sources, owned by root, run as a plain user ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TMPDIR=/tmp
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# tsconfig.json: tsx compiles with the project's settings (it looks in the working directory).
COPY --from=build /app/tsconfig.json /app/schema.graphql ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
# A fixed numeric user, so Kubernetes can check runAsNonRoot; the manifests run as this uid.
RUN groupadd --system --gid 10001 patchwork \
 && useradd --system --uid 10001 --gid patchwork --home-dir /app --no-create-home --shell /usr/sbin/nologin patchwork
USER 10001:10001
# gateway HTTP/WebSocket; kernel gRPC; kernel metrics and probes
EXPOSE 4000 50051 9464
ENTRYPOINT ["/app/bin/patchwork"]
CMD ["--help"]

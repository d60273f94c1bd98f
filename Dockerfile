# syntax=docker/dockerfile:1
# The mqgate image: `docker build -t mqgate .`, then `docker run mqgate <verb>` (default: start).
# docker-compose.yml runs it as `broker`, `bridge` and `api` next to Redis.

# Build: TypeScript is a devDependency, so compile with them installed.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# Skipping scripts keeps `prepare` (tsc) from running before the sources are here; the one
# install step mqgate needs, its fixes to dependencies in patches/, is applied by hand. The
# `overrides` in package.json apply as they do to any `npm ci`.
RUN npm ci --ignore-scripts && npx patch-package
COPY . .
# The tests are not part of the image (.dockerignore leaves test/ out; removed again here in
# case the context brings it anyway).
RUN npm run build && rm -rf dist/test dist/.tsbuildinfo

# Runtime: production dependencies and the compiled JavaScript only.
FROM node:20-bookworm-slim AS runtime
# JSON logs for the log driver and whatever reads it, even when the container has a TTY
# (docker run -t, compose tty: true), where mqgate would otherwise pick its pretty format.
ENV NODE_ENV=production \
    MQGATE_DATA_DIR=/data \
    MQGATE_LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# patches/ holds fixes to dependencies (see its README); the image runs the patched code.
RUN npm ci --omit=dev --ignore-scripts && npx patch-package && npm cache clean --force
COPY --from=build /app/dist ./dist
# `mqgate` on the PATH for the operator verbs: `docker compose exec broker mqgate org list`.
RUN chmod 0755 dist/cli/mqgate.js \
    && ln -s /app/dist/cli/mqgate.js /usr/local/bin/mqgate \
    && mkdir -p /data \
    && chown node:node /data
USER node
# The registry files (without Redis), the admin API's CA and token, the demo bootstrap files.
VOLUME /data
# MQTT over TLS, MQTT over secure WebSocket, the temps API, the admin API (HTTPS; /healthz for probes),
# the CRLs and OCSP responders (plain HTTP).
EXPOSE 8883 8084 8443 9443 8080
ENTRYPOINT ["node", "/app/dist/cli/mqgate.js"]
CMD ["start"]

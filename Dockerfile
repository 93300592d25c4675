# One image for every surveil process; each compose service picks its role with
# the command: `surveil api`, `surveil worker`, `surveil agent <specialist>`,
# `surveil data ...`. Configuration comes from the environment only: no secret is
# baked in (and .dockerignore keeps .env out of the build context).

# The charting library and Swagger UI the web UI serves itself (web/package.json), fetched in a
# throw-away stage so the final image carries no node toolchain.
FROM node:20-slim AS web-vendor
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
 && mkdir -p vendor/swagger-ui \
 && cp node_modules/chart.js/dist/chart.umd.min.js vendor/ \
 && cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css vendor/swagger-ui/

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    SURVEIL_HOME=/data/surveil

# /data is where compose mounts the shared volume; a fresh named volume takes this
# directory's owner, so the unprivileged user can write the market-data store.
RUN useradd --system --uid 10001 --create-home --home-dir /home/surveil surveil \
 && mkdir -p /data \
 && chown surveil:surveil /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY surveil surveil
COPY agents agents
COPY activities activities
COPY workflows workflows
COPY api api
COPY web web
COPY --from=web-vendor /web/vendor web/vendor
# Installed in place (runtime dependencies only, no dev extras) so that files the
# code finds beside its packages, such as the web UI in web/, resolve as they do
# in a checkout.
RUN pip install --editable .

USER surveil
EXPOSE 8000 8101 8102
ENTRYPOINT ["surveil"]
CMD ["--help"]

# rectbot in a container: `docker build -t rectbot .` then see compose.yaml (or the README's "Docker").
# The wheel is built in one stage and installed in a slim one; the bot runs as a non-root user and keeps its
# database, index and caches on the /data volume. `--build-arg EXTRAS=all,semantic` adds the re-ranker by meaning
# (then set RECTBOT_SEARCH_SEMANTIC=true).
ARG EXTRAS=all
FROM python:3.11-slim AS build
ARG EXTRAS
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY retrieval ./retrieval
COPY seeds ./seeds
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[${EXTRAS}]"

FROM python:3.11-slim
ARG EXTRAS
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home rectbot \
    && mkdir /data && chown rectbot:rectbot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "rectbot[${EXTRAS}]" && rm -rf /wheels
ENV RECTBOT_HOME=/data \
    RECTBOT_HTTP_HOST=0.0.0.0 \
    RECTBOT_HTTP_PORT=8080 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
USER rectbot
WORKDIR /data
EXPOSE 8080
# /healthz answers as soon as the server listens; /readyz once the index is loaded (see the README).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["rectbot"]
CMD ["serve"]

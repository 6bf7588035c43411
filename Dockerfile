# danmaku-agent: one agent per container. Config at /etc/danmaku-agent/agent.yaml, state
# (outbox, alert book, hash key) under /var/lib/danmaku-agent (mount a volume there).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY . /src
RUN pip install /src && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/danmaku-agent \
        --create-home --shell /usr/sbin/nologin danmaku
USER danmaku
WORKDIR /var/lib/danmaku-agent
VOLUME ["/var/lib/danmaku-agent"]

# 9108: Prometheus metrics (metrics.listen must be 0.0.0.0:9108); 8080: control desk.
EXPOSE 9108 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/metrics', timeout=4)"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["danmaku-agent"]
CMD ["run", "--config", "/etc/danmaku-agent/agent.yaml", "--log-json"]

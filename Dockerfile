# One slim image for every role: api, worker, beat and the one-shot migrate step.
#   docker build -t dpa-registry .
#   docker run --env-file .env dpa-registry migrate|api|worker|beat
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=UTC \
    PYTHONPATH=/app \
    DPA_ENV=production \
    DPA_INSTANCE_PATH=/var/lib/dpa-registry \
    PROMETHEUS_MULTIPROC_DIR=/tmp/dpa-metrics \
    PORT=8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /var/lib/dpa-registry \
        --shell /usr/sbin/nologin app \
    && install -d -o app -g app -m 0750 /var/lib/dpa-registry

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a source change reuses this layer.
# The project runs from /app (not from site-packages): migrations/ lives beside it.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY service ./service
COPY workers ./workers
COPY migrations ./migrations
COPY gunicorn.conf.py ./
COPY scripts/entrypoint.sh ./scripts/entrypoint.sh
RUN python -m compileall -q service workers migrations gunicorn.conf.py \
    && chmod 0755 scripts/entrypoint.sh

USER app:app
EXPOSE 8000

# Liveness of the API; worker and beat override or disable it (docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]

ENTRYPOINT ["/app/scripts/entrypoint.sh"]
CMD ["api"]

# The gateway image that deploy/k8s/deployment.yaml runs (streams:0.1.0):
#   docker build -t streams:0.1.0 .
#   docker run -p 8282:8282 streams:0.1.0                  # the seed demo on the embedded broker
#   docker run -p 8282:8282 -v "$PWD/my-apis:/etc/streams/apis:ro" \
#       -e STREAMS_KAFKA_BROKERS=kafka:9092 streams:0.1.0
# Definitions are read from /etc/streams/apis (a volume: mount a directory or a ConfigMap there,
# never single files, so changes reach the gateway); state lives in /var/lib/streams.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY wsgi.py gunicorn.conf.py ./
COPY streams/ streams/
COPY handlers/ handlers/
COPY deploy/apis/ /etc/streams/apis/

# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN groupadd --system --gid 10001 streams \
    && useradd --system --uid 10001 --gid streams --home-dir /var/lib/streams --shell /usr/sbin/nologin streams \
    && mkdir -p /var/lib/streams \
    && chown streams:streams /var/lib/streams /etc/streams/apis \
    && python -m compileall -q streams handlers

ENV STREAMS_BIND=0.0.0.0:8282 \
    STREAMS_DEFINITIONS_DIR=/etc/streams/apis \
    STREAMS_DATA_DIR=/var/lib/streams

VOLUME ["/etc/streams/apis", "/var/lib/streams"]
USER 10001:10001
EXPOSE 8282

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8282/hello', timeout=4)"]

# gunicorn reads ./gunicorn.conf.py (gevent workers, drain on stop); -w or WEB_CONCURRENCY sets
# the worker count.
CMD ["gunicorn", "wsgi:app"]

# Navexa Portal: granian (serve.py) behind a reverse proxy, with Redis beside it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt && useradd --system --uid 10001 --no-create-home portal

COPY wsgi.py asgi.py serve.py gunicorn.conf.py ./
COPY portal/ portal/

USER portal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# Settings in serve.py (BIND, WEB_CONCURRENCY, GUNICORN_THREADS, LOG_LEVEL); logs are JSON lines on stderr.
# granian reads each request in Rust before a Python thread sees it: slow clients cost no thread.
# gunicorn stays installed: `gunicorn -c gunicorn.conf.py wsgi:app` serves the same app the same way.
CMD ["python", "serve.py"]

# Navexa Portal: gunicorn behind a reverse proxy, with Redis beside it (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt && useradd --system --uid 10001 portal

COPY app.py config.py wsgi.py ./
COPY portal/ portal/
COPY templates/ templates/
COPY static/ static/

USER portal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
# Access logs go through the portal's redaction filter (no ?code= in logs).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "8", "--timeout", "60", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*", "wsgi:app"]

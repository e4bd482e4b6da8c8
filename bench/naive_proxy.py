"""The naive stack the portal's /api/ proxy is measured against, for benchmarks only:
Flask + Flask-Session on Redis + requests, the way a first version of such a proxy is usually written.

    NAIVE_REDIS_URL=redis://… NAIVE_UPSTREAM=http://…/api gunicorn bench.naive_proxy:app
"""

import os

import redis
import requests
from flask import Flask, Response, session
from flask_session import Session

app = Flask(__name__)
app.config.update(SECRET_KEY="bench-only", SESSION_TYPE="redis",
                  SESSION_REDIS=redis.Redis.from_url(os.environ.get("NAIVE_REDIS_URL", "redis://127.0.0.1:6379/0")))
Session(app)
UPSTREAM = os.environ.get("NAIVE_UPSTREAM", "http://127.0.0.1:8000/api")
http = requests.Session()


@app.get("/bench-login")
def bench_login():
    session["access_token"] = "bench-token"
    return "ok"


@app.get("/api/<path:path>")
def proxy(path):
    if "access_token" not in session:
        return {"error": "session_expired"}, 401
    upstream = http.get(f"{UPSTREAM}/{path}", headers={"Authorization": f"Bearer {session['access_token']}"}, timeout=15)
    return Response(upstream.content, status=upstream.status_code, content_type=upstream.headers.get("Content-Type"))


@app.get("/healthz")
def healthz():
    return "ok"

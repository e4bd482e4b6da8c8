"""A fast stand-in for the Navexa API, for benchmarks only: any bearer token, a fixed small JSON answer.

    gunicorn bench.fast_upstream:app
"""

import json

from flask import Flask, Response, request

app = Flask(__name__)
PORTFOLIOS = json.dumps([{"id": 100 + i, "name": f"Portfolio {i}", "dateCreated": "2019-08-05T00:00:00",
                          "baseCurrencyCode": "AUD"} for i in range(4)]).encode()


@app.get("/api/<path:path>")
def answer(path):
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return Response(b'{"error":"unauthorized"}', 401, mimetype="application/json")
    return Response(PORTFOLIOS, mimetype="application/json")


@app.get("/healthz")
def healthz():
    return "ok"

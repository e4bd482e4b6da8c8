"""The portal's Prometheus counters, and their exposition. No Flask here (`/metrics` is portal.health's).

Under gunicorn the counters of every worker are added up (prometheus-client's multiprocess mode:
gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR before any worker starts). The counters are plain
module objects, so Flask-free code (the token store, the Navexa client) counts without knowing about Flask.
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

SIGN_INS = Counter("portal_sign_ins_total", "Completed /callback requests by outcome", ["outcome"])
REFRESHES = Counter("portal_refreshes_total", "Refresh grants asked of the identity provider, by outcome", ["outcome"])
NAVEXA_CALLS = Counter("portal_navexa_requests_total", "Calls to the Navexa API by answer (HTTP status, or timeout, error)",
                       ["status"])
NAVEXA_SECONDS = Histogram("portal_navexa_request_seconds", "Time to the Navexa API's answer headers",
                           buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15))
KEYRING_OPENS = Counter("portal_keyring_opens_total", "Values the server's keys opened (revocation copies, session ids), "
                        "by key id: an older key's count at zero for a session lifetime means it can go",
                        ["key_id", "what"])
REDIS_ERRORS = Counter("portal_redis_errors_total", "Requests that failed because Redis could not be used")
CACHE_LOOKUPS = Counter("portal_cache_lookups_total", "Navexa answers looked for in the session's cache, by result",
                        ["result"])
API_ANSWERS = Counter("portal_api_answers_total", "/api/ requests by the path that answered them: the fast path "
                      "(a WSGI adapter round Flask) or the full Flask view", ["path"])
BACKCHANNEL_LOGOUTS = Counter("portal_backchannel_logouts_total", "Back-channel logout tokens, by outcome (ok, refused)",
                              ["outcome"])
SESSIONS_ENDED = Counter("portal_sessions_ended_elsewhere_total", "Sessions ended from another session or by the "
                         "provider, by how (sessions_page, backchannel, operator)", ["by"])
RATE_LIMITED = Counter("portal_rate_limited_total", "Requests refused by a rate limit, by endpoint", ["endpoint"])


def exposition() -> bytes:
    """Every metric in Prometheus's text format, added up over the worker processes when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()

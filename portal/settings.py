"""Settings from the environment; production refuses to start on anything missing or unsafe."""

import logging
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from urllib.parse import urlsplit

from joserfc.jwk import ECKey, RSAKey
from limits import parse, parse_many

log = logging.getLogger(__name__)

ENVIRONMENTS = ("production", "development")
MIN_SECRET_KEY_LENGTH = 32  # characters: at least 128 bits from `secrets.token_hex(16)`
DEFAULT_SIGN_IN_RATE_LIMIT = "30 per minute"  # per client address, for each of /login and /callback
# Per address: the provider's logout tokens come from a few addresses, many at once when a tenant signs people out.
DEFAULT_BACKCHANNEL_RATE_LIMIT = "600 per minute"
# Refresh grants per second for the whole deployment, below Auth0's tenant limit (about 25/s on paid plans).
DEFAULT_REFRESH_RATE_LIMIT = "20/second"
MAX_BODY = 1024 * 1024  # bytes any request body may carry (a form, or an /api/ call's body); more is 413
CLIENT_AUTH_METHODS = ("client_secret_post", "private_key_jwt")  # NAVEXA_CLIENT_AUTH (core.oauth.client_auth)
GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_hex(32))'"  # noqa: S105 - not a secret
# Set by the server's main process (serve.py, gunicorn.conf.py) before its workers start: the key a development run
# without SECRET_KEY uses, the same in every worker (one made in each would sign a person out at the next worker).
GENERATED_KEY = "PORTAL_GENERATED_SECRET_KEY"  # noqa: S105 - a variable's name


def generate_development_key(environ=os.environ) -> None:
    """In a server's main process, before its workers start: one random key for a development run without
    SECRET_KEY, for every worker to use. Production ignores it (there, SECRET_KEY or SECRET_KEYS is required)."""
    environ.setdefault(GENERATED_KEY, secrets.token_hex(32))


class ConfigError(Exception):
    """The environment cannot run the portal; `problems` names each offending variable."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Navexa Portal cannot start:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    app_env: str
    client_id: str
    client_secret: str
    auth_url: str
    audience: str
    scope: str
    refresh_scope: str | None
    api_url: str
    public_url: str
    redis_url: str
    secret_key: str  # the key that seals (SECRET_KEY, or the first of SECRET_KEYS)
    trusted_proxy_count: int
    sign_in_rate_limit: str = DEFAULT_SIGN_IN_RATE_LIMIT
    backchannel_rate_limit: str = DEFAULT_BACKCHANNEL_RATE_LIMIT
    refresh_rate: float | None = 20.0  # refresh grants a second, every container together (None: no limit)
    navexa_rate: float | None = None  # Navexa calls a second per person, every container together (None: no limit)
    metrics_token: str | None = None
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str | None = None
    redis_cluster: bool = False
    cache_seconds: int = 60
    secret_keys: tuple = ()  # (id, secret) of the key ring, the sealing one first (SECRET_KEY alone: id "0")
    secret_keys_revoked: tuple = ()  # ids that open nothing (SECRET_KEYS_REVOKED)
    otel_endpoint: str | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT: traces go there (OTLP/HTTP); unset, no tracing
    otel_service_name: str = "navexa-portal"  # OTEL_SERVICE_NAME
    idle_timeout: int = 3600  # s: SESSION_IDLE_TIMEOUT (minutes) without use signs a session out; 0: never
    api_paths: str = "documented"  # NAVEXA_API_PATHS: "documented" ({base}/portfolios) or "v1" ({base}/v1/portfolios)
    client_auth: str = "client_secret_post"  # or private_key_jwt (core.oauth.client_auth)
    client_private_key: str | None = None  # PEM, for private_key_jwt
    client_key_id: str | None = None  # its kid, as registered at Navexa's tenant

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        """Read and check every variable at once, so one run names every problem."""
        env = os.environ if environ is None else environ

        def get(name, default=""):
            return (env.get(name) or default).strip()

        problems = []
        app_env = get("APP_ENV", "production").lower()
        if app_env not in ENVIRONMENTS:
            problems.append(f"APP_ENV is '{app_env}': set it to 'production' or 'development'.")
        production = app_env != "development"

        sentinels, sentinel_problems = _sentinels(get("REDIS_SENTINELS"))
        problems += sentinel_problems
        client_auth = get("NAVEXA_CLIENT_AUTH", "client_secret_post").lower()
        required = {"NAVEXA_CLIENT_ID": "the Client ID Navexa issued for the portal"}
        if client_auth == "private_key_jwt":
            required["NAVEXA_CLIENT_PRIVATE_KEY"] = "the portal's private key (PEM, or a path to a PEM file)"
            required["NAVEXA_CLIENT_KEY_ID"] = "the key id (kid) its public key was registered under at Navexa"
        else:
            required["NAVEXA_CLIENT_SECRET"] = "the Client Secret Navexa issued for the portal"  # noqa: S105
        if client_auth not in CLIENT_AUTH_METHODS:
            problems.append(f"NAVEXA_CLIENT_AUTH is '{client_auth}': set it to one of {', '.join(CLIENT_AUTH_METHODS)}.")
        private_key, key_problem = _private_key(env.get("NAVEXA_CLIENT_PRIVATE_KEY") or "")
        if client_auth == "private_key_jwt" and key_problem:
            problems.append(key_problem)
        if sentinels:
            required["REDIS_SENTINEL_MASTER"] = "the name the sentinels monitor the primary under, e.g. mymaster"
        else:
            required["REDIS_URL"] = "the Redis URL, e.g. redis://redis:6379/0"
        if production and not get("SECRET_KEYS"):
            required["SECRET_KEY"] = f"a random secret of {MIN_SECRET_KEY_LENGTH}+ characters ({GENERATE_SECRET})"
            required["PUBLIC_URL"] = "the portal's external https origin, e.g. https://portal.example.com"
        problems += [f"{name} is missing: set it to {what}." for name, what in required.items() if not get(name)]

        secret_key = get("SECRET_KEY")
        if production and secret_key and len(secret_key) < MIN_SECRET_KEY_LENGTH:
            problems.append(f"SECRET_KEY is too short: use {MIN_SECRET_KEY_LENGTH}+ random characters ({GENERATE_SECRET}).")
        ring, ring_problems = _key_ring(get("SECRET_KEYS"), production)
        problems += ring_problems
        if ring and secret_key:
            problems.append("SECRET_KEY and SECRET_KEYS are both set: give the keys in SECRET_KEYS only.")
        if ring:
            secret_key = ring[0][1]  # the key that seals is the first
        if not secret_key and not production:  # one key for the run: the server made it before its workers started
            secret_key = env.get(GENERATED_KEY) or secrets.token_hex(32)
            log.warning("SECRET_KEY is not set: generated one for this run (development only).")
        revoked = tuple(i for i in get("SECRET_KEYS_REVOKED").replace(" ", "").split(",") if i)
        if ring and ring[0][0] in revoked:
            problems.append(f"SECRET_KEYS_REVOKED names '{ring[0][0]}', the key SECRET_KEYS puts first (the one that "
                            "seals): put another key first.")

        auth_url = get("NAVEXA_AUTH_URL", "https://auth.navexa.io").rstrip("/")
        api_url = get("NAVEXA_API_URL", "https://api.navexa.com.au/api").rstrip("/")
        # The redirect URI comes from here, never from a request header; development serves on PORT.
        public_url = get("PUBLIC_URL").rstrip("/") or ("" if production else f"http://127.0.0.1:{get('PORT', '5000')}")
        for name, value in [("NAVEXA_AUTH_URL", auth_url), ("NAVEXA_API_URL", api_url), ("PUBLIC_URL", public_url)]:
            if value:
                problems += _url_problems(name, value, https_only=production)

        api_paths = get("NAVEXA_API_PATHS", "documented").lower()
        if api_paths not in ("documented", "v1"):
            problems.append(f"NAVEXA_API_PATHS is '{api_paths}': set it to 'documented' (Navexa's developer documentation: "
                            "{base}/portfolios) or 'v1' (older public clients: {base}/v1/portfolios).")

        proxies = get("TRUSTED_PROXY_COUNT", "0")
        if not _count(proxies):
            problems.append(f"TRUSTED_PROXY_COUNT is '{proxies}': set it to the number of reverse proxies in front (0, 1, 2…).")

        scope = " ".join(get("NAVEXA_SCOPE", "openid profile email offline_access").split())
        if "openid" not in scope.split():
            problems.append("NAVEXA_SCOPE must include 'openid': sign-in relies on the ID token.")

        sign_in_rate_limit = get("RATE_LIMIT_SIGN_IN", DEFAULT_SIGN_IN_RATE_LIMIT)
        backchannel_rate_limit = get("RATE_LIMIT_BACKCHANNEL_LOGOUT", DEFAULT_BACKCHANNEL_RATE_LIMIT)
        for name, limit in (("RATE_LIMIT_SIGN_IN", sign_in_rate_limit),
                            ("RATE_LIMIT_BACKCHANNEL_LOGOUT", backchannel_rate_limit)):
            try:
                parse_many(limit)
            except ValueError:
                problems.append(f"{name} is '{limit}': write it like '30 per minute' or '10/minute;100/hour'.")
        refresh_rate, problem = _rate("REFRESH_RATE_LIMIT", get("REFRESH_RATE_LIMIT", DEFAULT_REFRESH_RATE_LIMIT))
        problems += problem
        navexa_rate, problem = _rate("NAVEXA_RATE_LIMIT", get("NAVEXA_RATE_LIMIT"))
        problems += problem
        metrics_token = get("METRICS_TOKEN") or None
        if metrics_token and len(metrics_token) < 16:
            problems.append("METRICS_TOKEN is too short: use 16+ random characters, or leave it unset to turn /metrics off.")

        idle_minutes = get("SESSION_IDLE_TIMEOUT", "60")
        if not _count(idle_minutes):
            problems.append(f"SESSION_IDLE_TIMEOUT is '{idle_minutes}': set it to whole minutes without use after which "
                            "a session signs out (0 turns it off).")
        cache_seconds = get("NAVEXA_CACHE_SECONDS", "60")
        if not _count(cache_seconds):
            problems.append(f"NAVEXA_CACHE_SECONDS is '{cache_seconds}': set it to whole seconds (0 turns the cache off).")
        redis_cluster = get("REDIS_CLUSTER", "0").lower() in ("1", "true", "yes")
        if redis_cluster and sentinels:
            problems.append("REDIS_CLUSTER and REDIS_SENTINELS are both set: choose one Redis topology.")
        if redis_cluster and get("REDIS_URL") and urlsplit(get("REDIS_URL")).path.strip("/") not in ("", "0"):
            problems.append("REDIS_URL names a database other than 0: a Redis Cluster has only database 0.")

        if problems:
            raise ConfigError(problems)
        return cls(
            app_env=app_env,
            client_id=get("NAVEXA_CLIENT_ID"),
            client_secret=get("NAVEXA_CLIENT_SECRET"),
            auth_url=auth_url,
            audience=get("NAVEXA_AUDIENCE", "https://api.navexa.io/api"),
            scope=scope,
            refresh_scope=" ".join(get("NAVEXA_REFRESH_SCOPE").split()) or None,
            api_url=api_url,
            api_paths=api_paths,
            public_url=public_url,
            redis_url=get("REDIS_URL"),
            secret_key=secret_key,
            secret_keys=tuple(ring) or (("0", secret_key),),
            secret_keys_revoked=revoked,
            trusted_proxy_count=int(proxies),
            sign_in_rate_limit=sign_in_rate_limit,
            backchannel_rate_limit=backchannel_rate_limit,
            refresh_rate=refresh_rate,
            navexa_rate=navexa_rate,
            metrics_token=metrics_token,
            redis_sentinels=sentinels,
            redis_sentinel_master=get("REDIS_SENTINEL_MASTER") or None,
            redis_cluster=redis_cluster,
            cache_seconds=int(cache_seconds),
            idle_timeout=60 * int(idle_minutes) if _count(idle_minutes) else 3600,
            otel_endpoint=get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
            otel_service_name=get("OTEL_SERVICE_NAME") or "navexa-portal",
            client_auth=client_auth,
            client_private_key=private_key if client_auth == "private_key_jwt" else None,
            client_key_id=get("NAVEXA_CLIENT_KEY_ID") or None,
        )


_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


def _key_ring(value: str, production: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """SECRET_KEYS: "id:secret,id:secret", the first seals and every one opens; ([], []) when unset."""
    if not value:
        return [], []
    ring, problems = [], []
    for entry in value.split(","):
        key_id, _, secret = entry.strip().partition(":")
        if not _KEY_ID.fullmatch(key_id) or not secret:
            problems.append("SECRET_KEYS must read 'id:secret,id:secret' (ids of letters, digits, - and _, up to 16).")
            return [], problems
        if production and len(secret) < MIN_SECRET_KEY_LENGTH:
            problems.append(f"SECRET_KEYS' key '{key_id}' is too short: use {MIN_SECRET_KEY_LENGTH}+ random characters.")
        ring.append((key_id, secret))
    if len({key_id for key_id, _ in ring}) != len(ring):
        problems.append("SECRET_KEYS names a key id twice: give each key its own id.")
    return ring, problems


def _rate(name: str, text: str) -> tuple[float | None, list[str]]:
    """A rate like '20/second' or '300 per minute' as calls a second; '' or '0' is no limit."""
    if text in ("", "0", "off"):
        return None, []
    try:
        item = parse(text)
    except ValueError:
        return None, [f"{name} is '{text}': write it like '20/second' or '300 per minute', or 0 for no limit."]
    return item.amount / item.get_expiry(), []


def _private_key(value: str) -> tuple[str | None, str | None]:
    """NAVEXA_CLIENT_PRIVATE_KEY as PEM text: the value itself (a literal \\n stands for a newline, as .env
    files often write it), or the file it names; (pem, None) or (None, the problem)."""
    value = value.strip()
    if not value:
        return None, None  # named as missing above
    if value.startswith("-----BEGIN"):
        pem = value.replace("\\n", "\n")
    else:
        try:
            with open(value, encoding="ascii") as file:
                pem = file.read()
        except (OSError, UnicodeDecodeError):
            return None, "NAVEXA_CLIENT_PRIVATE_KEY is neither PEM text nor a readable PEM file."
    try:
        load_private_key(pem)
    except ValueError as error:
        return None, f"NAVEXA_CLIENT_PRIVATE_KEY can't be used: {error}."
    return pem, None


MIN_RSA_BITS = 2048  # RFC 7518 §3.3 requires 2048 or more for RS256; NIST retired 1024-bit RSA long ago


def load_private_key(pem: str) -> tuple[RSAKey | ECKey, str]:
    """An RSA (RS256) or P-256 EC (ES256) private key from PEM; ValueError for anything else."""
    data = pem.encode()
    for kind, algorithm in ((RSAKey, "RS256"), (ECKey, "ES256")):
        try:
            with warnings.catch_warnings():  # joserfc warns of a short RSA key; the check below refuses it, by name
                warnings.simplefilter("ignore")
                key = kind.import_key(data)
        except Exception:  # noqa: BLE001, S112 - joserfc raises several kinds for "not this kind of key"
            continue
        if not key.is_private:
            raise ValueError("the key is a public key: give the private key")
        if kind is ECKey and key.curve_name != "P-256":
            raise ValueError("an EC key must be on P-256 (ES256)")
        if kind is RSAKey and key.raw_value.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key must be at least {MIN_RSA_BITS} bits (this one has {key.raw_value.key_size})")
        return key, algorithm
    raise ValueError("not an RSA or EC private key in PEM")


def _count(text: str) -> bool:
    """Whole ASCII digits ("²" is a digit to str.isdigit, and int() refuses it)."""
    return text.isascii() and text.isdigit()


def _sentinels(value: str) -> tuple[tuple[tuple[str, int], ...], list[str]]:
    """REDIS_SENTINELS as (host, port) pairs: 'host:port,host:port'."""
    if not value:
        return (), []
    found = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not _count(port):
            return (), [f"REDIS_SENTINELS has '{item.strip()}': list sentinels as host:port,host:port."]
        found.append((host, int(port)))
    return tuple(found), []


def _url_problems(name: str, value: str, https_only: bool) -> list[str]:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [f"{name} is '{value}': set it to an absolute URL such as https://example.com."]
    if https_only and parts.scheme != "https":
        return [f"{name} must use https in production (it is '{value}')."]
    return []

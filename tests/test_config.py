"""Settings: production refuses to start on missing or unsafe variables, naming each."""

import os

import pytest

from portal.settings import ConfigError, Settings

GOOD_PRODUCTION = {
    "NAVEXA_CLIENT_ID": "client",
    "NAVEXA_CLIENT_SECRET": "secret",
    "SECRET_KEY": "k" * 40,
    "REDIS_URL": "redis://redis:6379/0",
    "PUBLIC_URL": "https://portal.example.com",
}


def problems(env):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return caught.value.problems


def test_production_is_the_default_and_names_every_missing_variable():
    found = " ".join(problems({}))
    for name in ("NAVEXA_CLIENT_ID", "NAVEXA_CLIENT_SECRET", "SECRET_KEY", "REDIS_URL", "PUBLIC_URL"):
        assert name in found


def test_the_message_says_what_to_set():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    assert "cannot start" in str(caught.value)
    assert "secrets.token_hex" in str(caught.value)


def test_a_complete_production_environment_passes_with_navexa_defaults():
    settings = Settings.from_env(GOOD_PRODUCTION)
    assert settings.production
    assert settings.auth_url == "https://auth.navexa.io"
    assert settings.audience == "https://api.navexa.io/api"
    assert settings.scope == "openid profile email offline_access"
    assert settings.api_url == "https://api.navexa.com.au/api"
    assert settings.trusted_proxy_count == 0


@pytest.mark.parametrize("change, offender", [
    ({"PUBLIC_URL": "http://portal.example.com"}, "PUBLIC_URL"),
    ({"NAVEXA_AUTH_URL": "http://auth.example.com"}, "NAVEXA_AUTH_URL"),
    ({"NAVEXA_API_URL": "not a url"}, "NAVEXA_API_URL"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"TRUSTED_PROXY_COUNT": "one"}, "TRUSTED_PROXY_COUNT"),
    ({"APP_ENV": "staging"}, "APP_ENV"),
    ({"NAVEXA_SCOPE": "profile email"}, "NAVEXA_SCOPE"),
])
def test_production_refuses_unsafe_values(change, offender):
    found = problems({**GOOD_PRODUCTION, **change})
    assert len(found) == 1 and offender in found[0]


def test_development_allows_http_and_generates_a_secret_key(caplog):
    settings = Settings.from_env({"APP_ENV": "development", "NAVEXA_CLIENT_ID": "c", "NAVEXA_CLIENT_SECRET": "s",
                                  "REDIS_URL": "redis://127.0.0.1:1/0", "NAVEXA_AUTH_URL": "http://127.0.0.1:8400"})
    assert not settings.production
    assert len(settings.secret_key) >= 32
    assert "SECRET_KEY is not set" in caplog.text


def test_development_still_needs_redis_and_client_credentials():
    found = " ".join(problems({"APP_ENV": "development"}))
    assert "REDIS_URL" in found and "NAVEXA_CLIENT_ID" in found and "SECRET_KEY" not in found


def test_the_app_refuses_to_start_in_production_without_settings(monkeypatch):
    from portal.app import create_app

    for name in list(GOOD_PRODUCTION) + ["APP_ENV"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env to find
    with pytest.raises(ConfigError):
        create_app()


def test_once_read_the_secrets_leave_the_process_environment(monkeypatch, redis_url):
    """granian copied os.environ (SECRET_KEY, the client secret) into every request's environ (issue 28)."""
    from portal.app import SECRET_VARIABLES, create_app

    environment = {"APP_ENV": "development", "NAVEXA_CLIENT_ID": "c", "NAVEXA_CLIENT_SECRET": "s" * 20,
                   "SECRET_KEY": "k" * 40, "REDIS_URL": redis_url, "NAVEXA_AUTH_URL": "http://127.0.0.1:1",
                   "METRICS_TOKEN": "m" * 32, "PORTAL_GENERATED_SECRET_KEY": "g" * 64}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir("/")  # no .env to find
    app = create_app()
    assert app.config["SECRET_KEY"] == "k" * 40
    assert [name for name in SECRET_VARIABLES if name in os.environ] == []


def test_secret_keys_is_a_ring_whose_first_key_seals():
    ring = {k: v for k, v in GOOD_PRODUCTION.items() if k != "SECRET_KEY"}
    settings = Settings.from_env({**ring, "SECRET_KEYS": f"b:{'b' * 40}, a:{'a' * 40}"})
    assert settings.secret_keys == (("b", "b" * 40), ("a", "a" * 40)) and settings.secret_key == "b" * 40
    assert Settings.from_env(GOOD_PRODUCTION).secret_keys == (("0", "k" * 40),)  # SECRET_KEY: a one-key ring
    assert any("SECRET_KEYS must read" in p for p in problems({**ring, "SECRET_KEYS": "no-colon"}))
    assert any("names a key id twice" in p for p in problems({**ring, "SECRET_KEYS": f"a:{'a' * 40},a:{'c' * 40}"}))
    assert any("too short" in p for p in problems({**ring, "SECRET_KEYS": "a:short"}))
    assert any("both set" in p for p in problems({**GOOD_PRODUCTION, "SECRET_KEYS": f"a:{'a' * 40}"}))
    assert any("put another key first" in p for p in problems({**ring, "SECRET_KEYS": f"a:{'a' * 40}",
                                                               "SECRET_KEYS_REVOKED": "a"}))

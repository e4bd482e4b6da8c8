"""Flask-Session on Redis, JSON only: nothing read back from Redis is ever unpickled."""

import logging

import msgspec
from flask_session.redis import RedisSessionInterface

log = logging.getLogger(__name__)

SESSION_KEY_PREFIX = "portal:session:"
SESSION_COOKIE = "navexa_portal_session"
SECURE_SESSION_COOKIE = "__Host-navexa_portal"  # __Host- pins it to this exact origin; https only


def session_cookie_name(production: bool) -> str:
    return SECURE_SESSION_COOKIE if production else SESSION_COOKIE


class JsonSerializer:
    """Flask-Session serializer without the pickle fallback of its default one."""

    encoder = msgspec.json.Encoder()
    decoder = msgspec.json.Decoder(dict)

    def encode(self, session) -> bytes:
        return self.encoder.encode(dict(session))

    def decode(self, serialized: bytes) -> dict:
        return self.decoder.decode(serialized)


class JsonRedisSessionInterface(RedisSessionInterface):
    """Redis sessions stored as JSON; a record that isn't a JSON object starts a fresh session."""

    def __init__(self, app, client):
        super().__init__(app, client=client, key_prefix=SESSION_KEY_PREFIX, permanent=True, sid_length=32,
                         serialization_format="json")
        self.serializer = JsonSerializer()

    def _retrieve_session_data(self, store_id: str):
        raw = self.client.get(store_id)
        if raw is None:
            return None
        try:
            return self.serializer.decode(raw)
        except msgspec.DecodeError:
            log.warning("ignored a session record that is not JSON")
            return None

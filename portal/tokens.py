"""Token records: one per signed-in session, in its own Redis key, never in the Flask session."""

import json
import time

TOKEN_KEY_PREFIX = "portal:tokens:"


class TokenStore:
    def __init__(self, redis_client, lifetime: int, clock=time.time):
        self.redis = redis_client
        self.lifetime = lifetime
        self.clock = clock

    def _key(self, sid: str) -> str:
        return TOKEN_KEY_PREFIX + sid

    def save(self, sid: str, token: dict):
        record = {
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token"),
            "id_token": token.get("id_token"),
            "scope": token.get("scope"),
            "expires_at": self.clock() + int(token.get("expires_in", 0)),
        }
        self.redis.set(self._key(sid), json.dumps(record), ex=self.lifetime)

    def load(self, sid: str) -> dict | None:
        raw = self.redis.get(self._key(sid))
        return json.loads(raw) if raw else None

    def delete(self, sid: str):
        self.redis.delete(self._key(sid))

"""A Redis lock whose lease a watchdog renews while it is held (the token store's refresh lock). No Flask here."""

import logging
import threading

import redis

log = logging.getLogger(__name__)


class LeasedLock:
    """A Redis lock whose lease is renewed by a watchdog thread for as long as it is held."""

    def __init__(self, redis_client: redis.Redis, name: str, lease: float):
        self.lock = redis_client.lock(name, timeout=lease, thread_local=False)
        self.lease = lease
        self._done = threading.Event()
        self._watchdog = None

    def acquire(self) -> bool:
        """Take the lock if it is free (never blocks); start renewing its lease."""
        if not self.lock.acquire(blocking=False):
            return False
        self._done.clear()
        self._watchdog = threading.Thread(target=self._renew, daemon=True, name="token-lock-watchdog")
        self._watchdog.start()
        return True

    def _renew(self):
        while not self._done.wait(self.lease / 3):
            try:
                self.lock.reacquire()
            except redis.exceptions.LockError:
                log.warning("refresh lock lost before the refresh finished")
                return
            except redis.RedisError:
                log.warning("could not renew the refresh lock")

    def release(self):
        self._done.set()
        self._watchdog.join()
        try:
            self.lock.release()
        except redis.exceptions.LockError:
            pass  # the lease lapsed (Redis unreachable for a while): nothing left to release

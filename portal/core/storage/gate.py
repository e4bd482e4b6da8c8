"""Being polite upstream, shared by every worker and container through Redis. No Flask here.

A `Gate` holds, per name (the token endpoint, or one person at Navexa):
- a **rate**: GCRA (a leaky bucket kept as one "theoretical arrival time" per name) in a single-key
  script, so any number of processes share it exactly and it works on a Cluster; `wait_turn()` waits
  for the name's next slot, within a deadline; `reserve_turn()` reserves a slot a little ahead or refuses
  at once, so only a fixed number of one name's calls ever wait;
- a **pause**, after the upstream answered 429: nobody calls it for that name until the pause lapses
  (its Retry-After, or DEFAULT_PAUSE when it gave none); then one call **probes** (`probe_turn()`), alone,
  from every process together, until it has been answered: a lapsed pause isn't a starting gun for all.
Times are the app's clock (injectable), so tests move them instead of sleeping; waiting is bounded by
the monotonic clock, so a frozen app clock can never hang a request.
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

DEFAULT_PAUSE = 10.0  # s after a 429 that says no Retry-After
PROBE_WINDOW = 60.0  # s after a pause lapses during which the next call is a probe (if none has been answered yet)
MAX_PAUSE = 300.0  # s: a Retry-After beyond this is read as this (a typo upstream must not stop us for a day)
POLL = 0.01  # s: the shortest sleep while waiting for a turn

# KEYS[1] the name's arrival time; ARGV: now (ms), interval (ms), burst, the longest wait (ms) a call may be given.
# The wait until the reserved slot (ms, >= 0; the slot is taken), or, when even that is too far off, minus the ms
# until it wouldn't be (nothing taken). Each reservation moves the name's arrival time one interval on, so at most
# longest / interval calls of one name wait at any moment, on every worker together. With longest 0 it takes a slot
# only if one is free now (wait_turn).
_RESERVE = """
local now, interval, burst, longest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now or tat - now > 600000 then tat = now end  -- 10 min ahead: a clock that went back; start again
local wait = tat - interval * (burst - 1) - now
if wait < 0 then wait = 0 end
if wait > longest then return -(wait - longest) end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tat + interval - now) + 1000)
return wait
"""


class Gate:
    """A shared rate and pause for calls to one upstream, per name (see the module docstring)."""

    def __init__(self, redis_client: redis.Redis, prefix: str, *, rate: float | None, burst: int = 1,
                 clock: Callable[[], float] = time.time):
        self.redis = redis_client
        self.prefix = prefix
        self.rate = rate  # calls a second per name; None: no limit, only pauses
        self.burst = max(1, burst)
        self.clock = clock
        self._reserve = redis_client.register_script(_RESERVE)

    def _key(self, kind: str, name: str) -> str:
        hashed = hashlib.sha256(name.encode()).hexdigest()[:24]
        return f"{self.prefix}{kind}:{{{hashed}}}"

    def paused_for(self, name: str) -> float:
        """Seconds left of the name's pause (0: none)."""
        until = self.redis.get(self._key("pause", name))
        return max(0.0, float(until) - self.clock()) if until else 0.0

    def pause(self, name: str, seconds: float | None) -> float:
        """Pause calls for this name (a 429 said so); a longer pause already set is kept. The seconds set."""
        seconds = min(MAX_PAUSE, DEFAULT_PAUSE if seconds is None else max(1.0, float(seconds)))
        until = self.clock() + seconds
        key = self._key("pause", name)
        current = self.redis.get(key)
        if current is None or float(current) < until:
            self.redis.set(key, repr(until), px=int(seconds * 1000) + 1000)
            self.redis.set(self._key("lapsed", name), "1", px=int((seconds + PROBE_WINDOW) * 1000))
        return seconds

    def probe_turn(self, name: str, lasts: float) -> str:
        """Whether a call may go now, after a pause: "free" (no pause lapsed lately), "probe" (this call is the one
        probe, for at most `lasts` seconds: end it with probed()) or "wait" (another call is probing)."""
        if not self.redis.exists(self._key("lapsed", name)):
            return "free"
        return "probe" if self.redis.set(self._key("probe", name), "1", nx=True, px=int(lasts * 1000)) else "wait"

    def probed(self, name: str, answered: bool):
        """The probe is over: answered (the upstream took calls again: everyone may go), or not (another may probe)."""
        keys = [self._key("lapsed", name), self._key("probe", name)] if answered else [self._key("probe", name)]
        for key in keys:  # one at a time: on a Cluster they are in different slots
            self.redis.delete(key)

    def wait_turn(self, name: str, patience: float) -> float | None:
        """Wait for the name's next slot, at most `patience` seconds; None when it came (the slot is
        taken), else how long the wait would still have been (nothing taken)."""
        if self.rate is None:
            return None
        give_up = time.monotonic() + patience
        while True:
            _, wait = self.reserve_turn(name, 0)  # a slot free now, or how far off the next one is
            if wait is None:
                return None
            if wait > give_up - time.monotonic():
                return wait
            time.sleep(max(POLL, wait))

    def reserve_turn(self, name: str, longest: float) -> tuple[float, float | None]:
        """Reserve the name's next slot if it is at most `longest` seconds off: (the seconds to wait for it, None).
        Else nothing is taken: (0, the seconds until a reservation would be accepted). Waiting is the caller's, with
        no polling; since every reservation moves the next slot on, at most longest × rate calls of one name wait
        at any moment, across every worker (a flood by one name is refused, not queued on threads others need)."""
        if self.rate is None:
            return 0.0, None
        interval_ms = 1000.0 / self.rate
        answer = float(self._reserve(keys=[self._key("rate", name)],
                                     args=[int(self.clock() * 1000), interval_ms, self.burst, int(longest * 1000)]))
        return (answer / 1000, None) if answer >= 0 else (0.0, -answer / 1000)


def whole_seconds(seconds: float) -> int:
    """A wait as the whole seconds a Retry-After header says (never 0 while there is any wait)."""
    return max(1, math.ceil(seconds))

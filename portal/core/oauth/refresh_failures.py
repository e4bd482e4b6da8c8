"""How a refresh can fail: the token store's contract with its refresher (core.sessions.tokens' docstring has the
tree), and how a failure is remembered for the session's other requests. No Flask here."""

import json
import math


class TokenError(Exception):
    """The session's tokens could not be used."""


class SessionEnded(TokenError):
    """The session cannot go on: no record, a record the key can't open, or a refused refresh."""


class RefreshUnavailable(TokenError):
    """The provider could not be asked right now; the session is kept."""

    outcome = "unavailable"  # the refresh metric's label, and how a remembered failure is told apart
    at: float | None = None  # when a recalled failure happened, on the app's clock
    until: float | None = None  # when it stops counting (None for either: Redis's TTL alone says)

    def facts(self) -> dict:
        """What a subclass adds to the remembered failure."""
        return {}

    def remembered(self, at: float | None = None, lasts: float | None = None) -> str:
        """What is kept for REFRESH_BACKOFF, so waiters get this same failure. Its moment and end are on the app's
        clock, so a clock that moves (a test's) ends the backoff as Redis's TTL ends it in production."""
        until = None if at is None or lasts is None else at + lasts
        return json.dumps({"outcome": self.outcome, "message": str(self), "at": at, "until": until, **self.facts()})

    def as_of(self, now: float) -> "RefreshUnavailable":
        """This recalled failure as told at `now` (a subclass whose facts age says so)."""
        return self

    @staticmethod
    def recalled(remembered: bytes) -> "RefreshUnavailable":
        failure = json.loads(remembered)
        message = failure.get("message", "")
        if failure.get("outcome") == RefreshRefused.outcome:
            recalled = RefreshRefused(failure.get("error") or "-", message)
        elif failure.get("outcome") == RefreshRateLimited.outcome:
            recalled = RefreshRateLimited(failure.get("retry_after"), message)
        else:
            kind = RefreshTimedOut if failure.get("outcome") == RefreshTimedOut.outcome else RefreshUnavailable
            recalled = kind(message)
        recalled.at, recalled.until = (moment if isinstance(moment, (int, float)) and not isinstance(moment, bool)
                                       else None for moment in (failure.get("at"), failure.get("until")))
        return recalled


class RefreshBusy(RefreshUnavailable):
    """This session's refresh is slow and enough of its requests already wait for it."""

    outcome = "busy"


class RefreshTimedOut(RefreshUnavailable):
    """The token endpoint, or another worker's refresh of this session, took too long."""

    outcome = "timeout"


class RefreshRateLimited(RefreshUnavailable):
    """Refreshes are paused: the token endpoint answered 429, or the portal's rate for it is used up."""

    outcome = "rate_limited"

    def __init__(self, retry_after: int | None, message: str | None = None):
        super().__init__(message or "the token endpoint asks us to slow down")
        self.retry_after = retry_after

    def facts(self) -> dict:
        return {"retry_after": self.retry_after}

    def as_of(self, now: float) -> "RefreshRateLimited":
        """The wait left, not the wait first given: recalled 7 s into a 10 s pause, 3 s."""
        if not isinstance(self.retry_after, int) or self.at is None:
            return self
        left = RefreshRateLimited(max(1, math.ceil(self.at + self.retry_after - now)), str(self))
        left.at, left.until = self.at, self.until
        return left


class RefreshRefused(RefreshUnavailable):
    """The provider refused the refresh with an OAuth error that doesn't end the session."""

    outcome = "refused"

    def __init__(self, error: str, message: str | None = None):
        super().__init__(message or f"refresh refused: {error}")
        self.error = error  # the provider's OAuth error code

    def facts(self) -> dict:
        return {"error": self.error}

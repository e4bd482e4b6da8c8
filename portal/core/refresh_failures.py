"""How a refresh can fail: the token store's contract with its refresher (core.tokens' docstring has the
tree), and how a failure is remembered for the session's other requests. No Flask here."""

import json


class TokenError(Exception):
    """The session's tokens could not be used."""


class SessionEnded(TokenError):
    """The session cannot go on: no record, a record the key can't open, or a refused refresh."""


class RefreshUnavailable(TokenError):
    """The provider could not be asked right now; the session is kept."""

    outcome = "unavailable"  # the refresh metric's label, and how a remembered failure is told apart

    def remembered(self) -> str:
        """What is kept for REFRESH_BACKOFF, so waiters get this same failure."""
        return json.dumps({"outcome": self.outcome, "message": str(self)})

    @staticmethod
    def recalled(remembered: bytes) -> "RefreshUnavailable":
        failure = json.loads(remembered)
        message = failure.get("message", "")
        if failure.get("outcome") == RefreshRefused.outcome:
            return RefreshRefused(failure.get("error") or "-", message)
        if failure.get("outcome") == RefreshRateLimited.outcome:
            return RefreshRateLimited(failure.get("retry_after"), message)
        return (RefreshTimedOut if failure.get("outcome") == RefreshTimedOut.outcome else RefreshUnavailable)(message)


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

    def remembered(self) -> str:
        return json.dumps({"outcome": self.outcome, "message": str(self), "retry_after": self.retry_after})


class RefreshRefused(RefreshUnavailable):
    """The provider refused the refresh with an OAuth error that doesn't end the session."""

    outcome = "refused"

    def __init__(self, error: str, message: str | None = None):
        super().__init__(message or f"refresh refused: {error}")
        self.error = error  # the provider's OAuth error code

    def remembered(self) -> str:
        return json.dumps({"outcome": self.outcome, "message": str(self), "error": self.error})

"""The refresh policy, in one place: what a provider failure means for the session, and how politely the
tenant's token endpoint is asked. No Flask here.

- `refresher(provider)` is the token store's refresh function (core.sessions.tokens hands it a refresh token
  and gets an answer or a core.oauth.refresh_failures error): only FATAL_REFRESH_ERRORS end a session
  (SessionEnded); any other refusal, a timeout, a 429 or an unreachable provider keeps it (RefreshUnavailable
  and its kinds), as oauth2-proxy's isFatalRefreshError decides.
- `gated_refresher(refresh, gate, patience)` wraps it in the tenant-wide gate (core.storage.gate): paused
  after a 429 for its Retry-After, then one refresh probes alone before the rest resume, and at most the gate's
  rate across every process.
"""

import logging
from collections.abc import Callable

from ..storage.gate import Gate, whole_seconds
from .provider import Provider, ProviderFailure, ProviderRateLimited, ProviderRefused, ProviderTimeout
from .refresh_failures import RefreshRateLimited, RefreshRefused, RefreshTimedOut, RefreshUnavailable, SessionEnded

log = logging.getLogger(__name__)

FATAL_REFRESH_ERRORS = frozenset({"invalid_grant", "invalid_client"})
REFRESH_PATIENCE = 5.0  # s a refresh waits for the token endpoint's turn (the session's other requests wait too)
PROBE_LASTS = 35.0  # s at most one probe after a pause is out: the provider's refresh timeout, and a little


def refresher(provider: Provider) -> Callable[[str], dict]:
    """The token store's refresh function: a provider failure becomes SessionEnded or RefreshUnavailable."""

    def refresh(refresh_token: str) -> dict:
        try:
            return provider.refresh(refresh_token)
        except ProviderRefused as error:
            if error.error in FATAL_REFRESH_ERRORS:
                raise SessionEnded(f"refresh refused: {error.error}") from error
            raise RefreshRefused(error.error) from error
        except ProviderTimeout as error:
            raise RefreshTimedOut("token endpoint timed out") from error
        except ProviderRateLimited as error:
            raise RefreshRateLimited(error.retry_after) from error
        except ProviderFailure as error:
            raise RefreshUnavailable(f"token endpoint unusable: {error.code}") from error

    return refresh


TOKEN_ENDPOINT = "token-endpoint"  # noqa: S105 - a name, not a secret; the gate's name for the provider's token endpoint (one for the tenant)


def gated_refresher(refresh: Callable[[str], dict], gate: "Gate", patience: float) -> Callable[[str], dict]:
    """The token store's refresher, within the tenant-wide gate: paused after a 429 (for its Retry-After),
    and at most the gate's rate across every process. A refresh that can't have a turn within `patience`
    is RefreshRateLimited (the session is kept; its request answers 503 with Retry-After)."""

    def run(refresh_token: str) -> dict:
        paused = gate.paused_for(TOKEN_ENDPOINT)
        if paused:
            raise RefreshRateLimited(whole_seconds(paused), "refreshes are paused: the token endpoint said 429")
        turn = gate.probe_turn(TOKEN_ENDPOINT, PROBE_LASTS)
        if turn == "wait":  # the pause has lapsed and one refresh is finding out whether the tenant takes them again
            raise RefreshRateLimited(1, "refreshes resume after one probe: another refresh is asking now")
        still = gate.wait_turn(TOKEN_ENDPOINT, patience)
        if still is not None:
            if turn == "probe":
                gate.probed(TOKEN_ENDPOINT, answered=False)
            raise RefreshRateLimited(whole_seconds(still), "the portal's rate for the token endpoint is used up")
        try:
            answer = refresh(refresh_token)
        except RefreshRateLimited as error:
            error.retry_after = whole_seconds(gate.pause(TOKEN_ENDPOINT, error.retry_after))
            log.warning("the token endpoint said 429: refreshes paused for %s s everywhere", error.retry_after)
            if turn == "probe":
                gate.probed(TOKEN_ENDPOINT, answered=False)
            raise
        except (RefreshRefused, SessionEnded):
            if turn == "probe":  # it refused this token, but it answered: the tenant takes refreshes again
                gate.probed(TOKEN_ENDPOINT, answered=True)
            raise
        except RefreshUnavailable:
            if turn == "probe":  # no answer (a timeout, a 5xx): the next refresh probes instead
                gate.probed(TOKEN_ENDPOINT, answered=False)
            raise
        if turn == "probe":
            gate.probed(TOKEN_ENDPOINT, answered=True)
            log.info("the token endpoint answered the probe after its pause: refreshes resume everywhere")
        return answer

    return run

"""A page's Navexa calls: from the session's sealed cache when fresh, the rest from Navexa at once."""

from flask import session

from ..web.cookies import key_cookie
from ..web.services import services
from ..web.signed_in import with_access_token


def fetch(calls: dict, optional=frozenset(), failures: dict | None = None) -> dict:
    """A page's API calls: those still fresh from the session's sealed cache, the rest from Navexa at once
    (with the session's token, refreshed and retried once on 401), then kept for the next page.

    A failed call named in `optional` is simply missing from the answer (its error in `failures`, if given);
    any other failure fails the page."""
    key = key_cookie.key()
    answers = services().cache.get_many(session.sid, key, calls) if key and session.sid else {}
    missing = {name: call for name, call in calls.items() if name not in answers}
    if missing:
        fetched = with_access_token(lambda token: services().navexa.get_many(missing, token, frozenset(optional), failures))
        if key and session.sid:
            services().cache.put_many(session.sid, key, [(*missing[name], data) for name, data in fetched.items()])
        answers.update(fetched)
    return answers

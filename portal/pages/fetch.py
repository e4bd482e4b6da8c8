"""A page's Navexa calls: from the session's sealed cache when fresh, the rest from Navexa at once,
each made once however many of the session's requests want it at the same moment (core.navexa.cache)."""

from flask import session

from ..web import sessions
from ..web.cookies import key_cookie
from ..web.services import services
from ..web.signed_in import with_access_token


def fetch(calls: dict, optional=frozenset(), failures: dict | None = None) -> dict:
    """A page's API calls: those still fresh from the session's sealed cache, those another of the session's
    requests is making now when they land, the rest from Navexa at once (with the session's token, refreshed
    and retried once on 401, within the person's pause and rate), then kept for the next page.

    A failed call named in `optional` is simply missing from the answer (its error in `failures`, if given);
    any other failure fails the page."""
    cache, key, sid = services().cache, key_cookie.key(), session.sid
    shared = bool(key and sid)
    answers = cache.get_many(sid, key, calls) if shared else {}
    missing = {name: call for name, call in calls.items() if name not in answers}
    mine = cache.claim(sid, missing) if shared and missing else set(missing)
    if len(mine) < len(missing):  # another request of this session is making these right now
        answers.update(cache.wait_for(sid, key, {n: c for n, c in missing.items() if n not in mine}))
        missing = {name: call for name, call in missing.items() if name not in answers}
    if missing:
        person = sessions.current_user().sub
        try:
            fetched = with_access_token(lambda token: services().navexa.get_many(missing, token, frozenset(optional),
                                                                                failures, person=person))
            if shared:
                cache.put_many(sid, key, [(*missing[name], data) for name, data in fetched.items()])
        finally:
            if shared:
                cache.release(sid, {name: call for name, call in missing.items() if name in mine})
        answers.update(fetched)
    return answers

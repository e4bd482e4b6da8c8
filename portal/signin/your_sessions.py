"""/sessions: a person's own sessions, and ending them (any other one, all others, or everywhere).

Each of the person's sessions (core.sessions.index) is listed with when it started, when it was last
used (to the minute) and the browser it began on, this one marked. A session is named on the page
by a handle (a hash of its id), never by its id, which is a bearer secret. Every form needs the CSRF
token and the Strict same-site cookie, and is rate-limited like sign-in (web.ratelimit). Ending a
session revokes its refresh token and deletes its keys: its browser's next request is signed out.
"Sign out everywhere" ends the others, then this one as /logout does, at Navexa too.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, redirect, render_template, request, session, url_for

from ..core.observability.metrics import SESSIONS_ENDED
from ..core.sessions import browsers
from ..core.sessions.record import ADDRESS, BROWSER, SEEN, STARTED
from ..core.values import is_number
from ..web import sessions
from ..web.problems import BadInput
from ..web.security import check_csrf
from ..web.services import services
from ..web.signed_in import login_required
from .views import sign_out_here

bp = Blueprint("sessions", __name__)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listed:
    handle: str
    browser: str
    started: str  # "3 hours ago"
    last_used: str
    this_one: bool
    started_at: str = ""  # "6 Dec 2026, 18:42 UTC": the moment, with its zone named
    last_used_at: str = ""
    address: str | None = None  # where it signed in from, if the session recorded it


def utc_moment(epoch: float) -> str:
    """"6 Dec 2026, 18:42 UTC": a moment a person can compare across devices, its zone named."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def handle_of(sid: str) -> str:
    """What the page calls a session: not its id (a bearer secret), and not reversible to it."""
    return hashlib.sha256(b"navexa-portal/session-handle/" + sid.encode()).hexdigest()[:24]


def ago(seconds: float) -> str:
    """"just now", "4 minutes ago", "1 hour ago", "2 days ago"."""
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def others_and_records() -> tuple[list[str], dict[str, dict]]:
    """The person's other live sessions, and every live session's record (this one's included)."""
    user = sessions.current_user()
    index = services().index
    records = index.records(index.of_person(user.sub)) if user.sub else {}
    return [sid for sid in records if sid != session.sid], records


def listing(records: dict[str, dict], this_sid: str | None = None) -> list[Listed]:
    """The sessions as the page (and the operator's command) shows them: this one first, then newest first."""
    now = services().clock()

    def when(value) -> str:
        return ago(now - value) if is_number(value) else "at an unknown time"

    def at(value) -> str:
        return utc_moment(value) if is_number(value) else ""

    def order(item) -> tuple:
        sid, data = item
        started = data.get(STARTED)
        return sid != this_sid, -started if is_number(started) else 0

    return [Listed(handle=handle_of(sid), browser=str(data.get(BROWSER) or "An unknown browser")[:60],
                   started=when(data.get(STARTED)), last_used=when(data.get(SEEN)),
                   this_one=sid == this_sid, started_at=at(data.get(STARTED)), last_used_at=at(data.get(SEEN)),
                   address=browsers.address(data.get(ADDRESS)) if isinstance(data.get(ADDRESS), str) else None)
            for sid, data in sorted(records.items(), key=order)]


@bp.get("/sessions")
@login_required
def list_sessions():
    _, records = others_and_records()
    records[session.sid] = dict(session)  # this one as this request has it (just used, perhaps not yet written)
    ended = request.args.get("ended")
    idle = services().settings.idle_timeout
    return render_template("sessions.html", sessions=listing(records, session.sid), idle_minutes=idle // 60,
                           ended=int(ended) if ended and ended.isascii() and ended.isdigit() and len(ended) < 4 else None)


def end_these(sids: list[str]) -> int:
    user = sessions.current_user()
    ended = len(services().index.end(sids))
    SESSIONS_ENDED.labels("sessions_page").inc(ended)
    log.info("sessions page ended %d other session(s) sub=%s", ended, user.label)
    return ended


@bp.post("/sessions/end")
@login_required
def end_one():
    check_csrf()
    handle = request.form.get("session", "")
    others, _ = others_and_records()
    chosen = [sid for sid in others if hmac.compare_digest(handle_of(sid).encode(), handle.encode())]
    if not chosen:
        raise BadInput("That session has already ended, or isn't one of yours. Reload the list to see your sessions.")
    return redirect(url_for("sessions.list_sessions", ended=end_these(chosen)))


@bp.post("/sessions/end-others")
@login_required
def end_others():
    check_csrf()
    others, _ = others_and_records()
    return redirect(url_for("sessions.list_sessions", ended=end_these(others)))


@bp.post("/sessions/end-everywhere")
@login_required
def end_everywhere():
    check_csrf()
    others, _ = others_and_records()
    end_these(others)
    return sign_out_here()

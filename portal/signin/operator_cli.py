"""`flask --app wsgi sessions list|end SUB`: an operator lists or ends a person's sessions, from any container.

    flask --app wsgi sessions list 'auth0|alice-7f3a91'
    flask --app wsgi sessions end 'auth0|alice-7f3a91'

For support ("I lost my phone: sign me out everywhere") and for incidents. It works through the same index
as the person's own sessions page and back-channel logout (core.sessions.index): every session of the person,
whichever container it was served by, ends at once, with its refresh token revoked. Sessions are named by
their handle, as on the person's own page, never by their id (a bearer secret).
"""

import functools

import click
import redis
from flask import Blueprint

from ..core.observability.metrics import SESSIONS_ENDED
from ..web.services import services
from .your_sessions import listing

bp = Blueprint("operator", __name__, cli_group="sessions")


def plainly(command):
    """Redis trouble as one line and exit status 1, never a traceback (the store is the only thing they need)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except redis.RedisError as error:
            raise click.ClickException(f"the session store (Redis) can't be reached: {type(error).__name__}. "
                                       "Nothing was listed or ended; try again when it is back.") from None

    return run


def plural(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


@bp.cli.command("list")
@click.argument("sub")
@plainly
def list_sessions(sub: str):
    """List the live sessions of the person whose ID-token subject is SUB."""
    index = services().index
    rows = listing(index.records(index.of_person(sub)))
    click.echo(f"{plural(len(rows))} of {sub}")
    for row in rows:
        click.echo(f"  {row.handle}  {row.browser}  signed in {row.started}, last used {row.last_used}")


@bp.cli.command("end")
@click.argument("sub")
@plainly
def end_sessions(sub: str):
    """End every session of the person whose ID-token subject is SUB, revoking their refresh tokens."""
    ended = services().index.end_matching(sub=sub)
    SESSIONS_ENDED.labels("operator").inc(len(ended))
    click.echo(f"Ended {plural(len(ended))} of {sub}; their browsers' next requests are signed out.")

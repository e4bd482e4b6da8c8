"""safe_next: only paths on this site survive (pure)."""


import pytest

from portal.core.observability import logformat
from portal.core.sessions.record import SESSION_ID
from portal.web.security import safe_next


@pytest.mark.parametrize("target", ["/portfolios", "/portfolios/7?period=3M", "/", "/a/b#c"])
def test_paths_on_this_site_are_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "//evil.example", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil.example",
    "/\r\nSet-Cookie:x=1", "/\x00", "\\\\evil.example", "http:/evil.example",
])
def test_anything_else_becomes_the_default(target):
    assert safe_next(target, default="/home") == "/home"


@pytest.mark.parametrize("target", ["/portfolios\n", "/portfolios%0A", "/\n", "/a\r"])
def test_a_next_ending_in_a_newline_is_refused(target):
    from urllib.parse import unquote

    assert safe_next(unquote(target), default="/home") == "/home"


@pytest.mark.parametrize("pattern, value", [(SESSION_ID, "A" * 43 + "\n"), (logformat._REQUEST_ID, "abc\n")])
def test_identifiers_match_whole_values_only(pattern, value):
    assert not pattern.fullmatch(value) and logformat.request_id_for("abc\n") != "abc\n"

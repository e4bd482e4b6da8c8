"""safe_next: only paths on this site survive (pure)."""

import pytest

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

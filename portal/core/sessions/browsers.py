"""A browser and its system in a few words, from a User-Agent header, for the sessions page. No Flask here.

Only what a person recognises ("Firefox on Windows", "Safari on iPhone"); never the raw header, which
a page would otherwise show back verbatim, and which anyone can set to anything.
"""

import ipaddress
import re

# First match wins: Edge and Opera say "Chrome" too, Chrome says "Safari" too.
_BROWSERS = (("Edge", r"\bEdg(e|A|iOS)?/"), ("Opera", r"\bOPR/|\bOpera\b"), ("Samsung Internet", r"SamsungBrowser/"),
             ("Firefox", r"\bFirefox/|\bFxiOS/"), ("Chrome", r"\b(?:Headless)?Chrome/|\bCriOS/|\bChromium/"),
             ("Safari", r"\bSafari/"))
_SYSTEMS = (("iPhone", r"\biPhone\b"), ("iPad", r"\biPad\b"), ("Android", r"\bAndroid\b"),
            ("ChromeOS", r"\bCrOS\b"), ("Windows", r"\bWindows\b"), ("macOS", r"\bMac OS X\b|\bMacintosh\b"),
            ("Linux", r"\bLinux\b"))
MAX_AGENT = 512  # characters of the header looked at


def describe(user_agent: str | None) -> str:
    """"Chrome on Android", "Firefox", "Windows", or "An unknown browser"."""
    text = (user_agent or "")[:MAX_AGENT]
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, text)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, text)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "An unknown browser"


def address(remote: str | None) -> str | None:
    """The address a session signed in from, as an IP address (what ProxyFix made of the trusted proxies' header);
    None for anything that isn't one (a header can say anything: the page never shows it back raw)."""
    try:
        return str(ipaddress.ip_address((remote or "").strip()))
    except ValueError:
        return None

"""A rolling upgrade, checked: people sign in under an earlier release, then this working tree serves them.

Checks out REV (the release running now) in a temporary git worktree, serves it with gunicorn on a Redis,
signs in two browsers of Alice and one of Bob through the sandbox, then stops it and serves this tree on the
same port, Redis and SECRET_KEY, as replacing the containers would. It then checks that:
- every session is still signed in, on its pages and its /api/ calls;
- Alice's sessions page lists both of hers, and "Sign out of all other sessions" ends the other one, with its
  refresh token revoked;
- a back-channel logout for Bob (a password change) ends his session;
- signing out still goes to the provider.

    python -m tools.upgrade_check REV        (e.g. the commit your containers run now)

Prints a line a check and exits non-zero if any failed. Everything listens on 127.0.0.1 and stops at the end.
"""

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.clients import Browser, SandboxControl
from tools.stack import ROOT, free_port, portal_env, start_portal, start_redis, start_sandbox

GIT = shutil.which("git") or "git"


def csrf_of(person: Browser, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', person.get(url + "/sessions", timeout=10).text).group(1)


def status(person: Browser, url: str, path: str) -> int:
    return person.get(url + path, allow_redirects=False, timeout=10).status_code


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    rev = argv[0]
    results: list[tuple[str, bool]] = []

    def check(what: str, ok: bool):
        results.append((what, ok))
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")

    earlier = Path(tempfile.mkdtemp(prefix="navexa-portal-earlier-")) / "tree"
    subprocess.run([GIT, "-C", str(ROOT), "worktree", "add", "--detach", str(earlier), rev], check=True,
                   capture_output=True)
    services = []
    try:
        redis_service, redis_url = start_redis()
        sandbox_service, sandbox_url = start_sandbox()
        services += [redis_service, sandbox_service]
        sandbox = SandboxControl(sandbox_url)
        sandbox.config(api_paths="both")  # the earlier release's pages call the /v1 family, this one's the documented
        port = free_port()
        env = portal_env(sandbox_url, redis_url, f"http://127.0.0.1:{port}", SECRET_KEY=secrets.token_hex(32))

        before, url = start_portal(env, port=port, workers=1, threads=4, root=earlier)
        laptop, phone, bob = Browser(url), Browser(url), Browser(url)
        signed_in = [laptop.sign_in().status_code, phone.sign_in().status_code, bob.sign_in("bob").status_code]
        print(f"under {rev}: three sessions signed in ({signed_in}); now this tree takes over")
        before.stop()

        after, url = start_portal(env, port=port, workers=1, threads=4)
        services.append(after)
        check("every session is still signed in, pages and /api/",
              [status(p, url, "/portfolios") for p in (laptop, phone, bob)] == [200] * 3
              and [status(p, url, "/api/portfolios") for p in (laptop, phone, bob)] == [200] * 3)
        cards = laptop.get(url + "/sessions", timeout=10).text.count('class="card session')
        check(f"Alice's sessions page lists both of her sessions ({cards})", cards == 2)
        revoked = sandbox.stats()["revocations"]
        ended = laptop.post(url + "/sessions/end-others", data={"csrf_token": csrf_of(laptop, url)},
                            allow_redirects=False, timeout=10)
        check("signing the other one out ends it and revokes its refresh token",
              ended.headers.get("Location") == "/sessions?ended=1" and status(phone, url, "/portfolios") == 302
              and sandbox.stats()["revocations"] == revoked + 1 and status(laptop, url, "/portfolios") == 200)
        sandbox.config(backchannel_logout_uri=url + "/backchannel-logout")
        deliveries = sandbox.logout_elsewhere("bob", "password-changed")
        check("a back-channel logout for Bob ends his session",
              [d["status"] for d in deliveries] == [200] and status(bob, url, "/portfolios") == 302)
        out = laptop.post(url + "/logout", data={"csrf_token": csrf_of(laptop, url)}, allow_redirects=False, timeout=10)
        check("signing out goes to the provider", out.status_code == 302 and "/oidc/logout" in out.headers["Location"])
    finally:
        for service in reversed(services):
            service.stop()
        subprocess.run([GIT, "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], capture_output=True)
    failed = [what for what, ok in results if not ok]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

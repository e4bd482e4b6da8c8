"""`make run`: a throwaway redis-server, the sandbox and the portal, wired together.

Prints the URL to open; Ctrl-C stops all three.
"""

import os
import signal
import sys
import time

from tools.stack import port_open, portal_env, start_portal, start_redis, start_sandbox


def main():
    port = int(os.environ.get("PORT", "5000"))
    sandbox_port = int(os.environ.get("SANDBOX_PORT", "8400"))
    for name, value in (("PORT", port), ("SANDBOX_PORT", sandbox_port)):
        if port_open(value):
            sys.exit(f"Port {value} is in use: run `make run {name}={value + 1}` (or stop what uses it).")

    services = []

    def stop(*_, status=0):
        for service in reversed(services):
            service.stop()
        print("\nStopped the portal, the sandbox and redis-server.")
        sys.exit(status)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        redis_service, redis_url = start_redis()
        services.append(redis_service)
        portal_url = f"http://127.0.0.1:{port}"
        sandbox_service, sandbox_url = start_sandbox(sandbox_port, log=sys.stderr, env={
            "SANDBOX_BACKCHANNEL_LOGOUT_URI": portal_url + "/backchannel-logout"})
        services.append(sandbox_service)
        portal_service, _ = start_portal(portal_env(sandbox_url, redis_url, portal_url), port=port, log=sys.stderr,
                                         server="granian")  # as the image runs it (serve.py)
        services.append(portal_service)
    except Exception as error:
        print(f"make run failed: {error}", file=sys.stderr)
        stop(status=1)

    print(f"""
  Navexa Portal is running: open {portal_url}/
  Sign in as alice or bob at the sandbox ({sandbox_url}); no password needed.
  (erin: trades for the capital gains report; frank: fifty holdings; carol: odd data; dave: no portfolios.)
  Redis: {redis_url}.  Press Ctrl-C to stop everything.
""", flush=True)
    while all(s.process.poll() is None for s in services):
        time.sleep(0.5)
    dead = [s.name for s in services if s.process.poll() is not None]
    print(f"{', '.join(dead)} stopped unexpectedly; stopping the rest.", file=sys.stderr)
    stop(status=1)


if __name__ == "__main__":
    main()

"""`make run`: a throwaway redis-server, the sandbox and the portal, wired together.

Prints the URL to open; Ctrl-C stops all three.
"""

import os
import secrets
import signal
import sys
import time

from tools.services import port_open, start_portal, start_redis, start_sandbox


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
        sandbox_service, sandbox_url = start_sandbox(sandbox_port, log=sys.stderr)
        services.append(sandbox_service)
        portal_url = f"http://127.0.0.1:{port}"
        portal_service, _ = start_portal({
            "APP_ENV": "development",
            "NAVEXA_CLIENT_ID": "navexa-portal-dev",
            "NAVEXA_CLIENT_SECRET": "sandbox-client-secret",
            "NAVEXA_AUTH_URL": sandbox_url,
            "NAVEXA_API_URL": sandbox_url + "/api",
            "PUBLIC_URL": portal_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": secrets.token_hex(32),
        }, port=port, log=sys.stderr)
        services.append(portal_service)
    except Exception as error:
        print(f"make run failed: {error}", file=sys.stderr)
        stop(status=1)

    print(f"""
  Navexa Portal is running: open {portal_url}/
  Sign in as alice or bob at the sandbox ({sandbox_url}); no password needed.
  Redis: {redis_url}.  Press Ctrl-C to stop everything.
""", flush=True)
    while all(s.process.poll() is None for s in services):
        time.sleep(0.5)
    dead = [s.name for s in services if s.process.poll() is not None]
    print(f"{', '.join(dead)} stopped unexpectedly; stopping the rest.", file=sys.stderr)
    stop(status=1)


if __name__ == "__main__":
    main()

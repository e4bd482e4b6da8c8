"""Run the sandbox: python -m sandbox [--host 127.0.0.1] [--port 8400]."""

import argparse
import logging
import os

from werkzeug.serving import run_simple

from . import create_app


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8400")))
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    logging.getLogger("authlib").setLevel(logging.INFO)  # Authlib logs the PKCE verifier at DEBUG
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Navexa sandbox on http://{args.host}:{args.port}/", flush=True)
    run_simple(args.host, args.port, create_app(), threaded=True)


if __name__ == "__main__":
    main()

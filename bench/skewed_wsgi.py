"""The portal with its token clock moved by BENCH_CLOCK_OFFSET seconds, for benchmarks only.

A portal process started this way beside a normal one (same Redis) sees every session's
token as that much older: a way to put a token inside the refresh leeway without waiting.
"""

import os
import time

from portal.app import create_app

OFFSET = float(os.environ.get("BENCH_CLOCK_OFFSET", "0"))
app = create_app(clock=lambda: time.time() + OFFSET)

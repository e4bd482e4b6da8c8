"""The portal's WSGI app served over ASGI, as the image's server (granian, serve.py) runs it: `portal.asgi:app`.

Why not granian's WSGI interface: it hands a request to a Python thread as soon as its headers are in, and the
thread then blocks reading the body for as long as the client takes to send it; 16 sockets dripping a body
byte every 2 s held every thread of two workers, and nobody else got an answer (issue 28, N2). Here:

- a request's body is read whole in the event loop (no thread held while a slow client sends it), within
  BODY_DEADLINE (408 after it) and MAX_BODY (413 as soon as it is exceeded, or announced); only then does one
  of the worker's threads run the WSGI app, with the body in memory;
- `RAW_URI` is the request target exactly as sent (ASGI's `raw_path`), so the /api/ proxy's path rules see the
  bytes the client sent, as they do under gunicorn (N7: granian's WSGI gave only the decoded path);
- a request with more than one Host header is refused (400): which one an app would read is a guess;
- a small response (up to BUFFERED) is made whole on the thread and sent by the event loop: one thread hop a
  request; a longer one (the /api/ proxy streaming a large body) is streamed as the app yields it.
"""

import asyncio
import io
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from .settings import MAX_BODY

log = logging.getLogger(__name__)

BODY_DEADLINE = 10.0  # s a client has to send a request's whole body once its headers are in
BUFFERED = 64 * 1024  # bytes of an answer held on the thread and sent whole; past that it is streamed
DRAIN_SECONDS = float(os.environ.get("DRAIN_SECONDS", "5"))  # s of /readyz 503, still answering, after a SIGTERM


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


async def _answer(send, status: int, text: str, content_type: bytes = b"text/plain; charset=utf-8"):
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _header_values(scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key.lower() == name]


async def read_body(scope, receive, limit: int = MAX_BODY) -> bytes:
    """The whole body, in the event loop; _Refused(413) past `limit` (announced or sent)."""
    announced = _header_values(scope, b"content-length")
    if announced and announced[0].isdigit() and int(announced[0]) > limit:
        raise _Refused(413, "The request body is larger than the portal accepts.")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Refused(400, "The client went away.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _Refused(413, "The request body is larger than the portal accepts.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def wsgi_environ(scope, body: bytes) -> dict:
    """The WSGI environ of an ASGI http scope, the body already read (PEP 3333's latin-1 strings)."""
    path = scope["path"].encode("utf-8").decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope["method"], "SCRIPT_NAME": scope.get("root_path", ""), "PATH_INFO": path,
        "QUERY_STRING": query, "RAW_URI": raw.decode("latin-1") + (f"?{query}" if query else ""),
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1] or 80), "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]), "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"), "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)) if body or _header_values(scope, b"content-length") else "",
    }
    for key, value in scope["headers"]:
        name = key.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
        elif name != "CONTENT_LENGTH":
            name = "HTTP_" + name
            if name in environ:
                text = environ[name] + ("; " if name == "HTTP_COOKIE" else ",") + text
            environ[name] = text
    return environ


class BufferedWSGI:
    """An ASGI app running a WSGI app on `threads` threads, each request's body read first (module docstring).

    Draining: once the server has been told to stop (`draining`, or the file `drain_flag` names exists: granian's
    main process makes it for its workers), `/readyz` answers 503 at once, so the load balancer sends no more,
    while every request still arriving is answered until the server stops after its grace (serve.py, worker.py)."""

    def __init__(self, wsgi_app, threads: int = 8, body_deadline: float = BODY_DEADLINE, drain_flag: str | None = None):
        self.wsgi_app = wsgi_app
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="wsgi")
        self.body_deadline = body_deadline
        self.draining = False
        self.drain_flag = drain_flag

    def is_draining(self) -> bool:
        return self.draining or bool(self.drain_flag and os.path.exists(self.drain_flag))

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.executor.shutdown(wait=True)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == "/readyz" and self.is_draining():
            await _answer(send, 503, '{"status": "draining"}', b"application/json")
            return
        try:
            if len(_header_values(scope, b"host")) > 1:
                raise _Refused(400, "A request may carry one Host header.")
            async with asyncio.timeout(self.body_deadline):  # no task of its own, as wait_for makes
                body = await read_body(scope, receive)
        except _Refused as refused:
            await _answer(send, refused.status, refused.reason)
            return
        except TimeoutError:
            await _answer(send, 408, "The request body took too long to arrive.")
            return
        loop = asyncio.get_running_loop()
        whole = await loop.run_in_executor(self.executor, self._run, wsgi_environ(scope, body), send, loop)
        if whole is not None:  # a small answer, made whole on the thread: sent from here, no more thread hops
            status, headers, chunks = whole
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": False})

    def _run(self, environ, send, loop):
        """On a worker thread: the WSGI app. An answer of at most BUFFERED bytes comes back whole, to be sent by the
        event loop (one thread hop a request); a longer one (the proxy streaming a large body) is streamed from
        here, each chunk handed to the event loop in turn."""
        started: dict = {}

        async def sending(message):  # a server's send may give any awaitable, not a coroutine
            await send(message)

        def deliver(message):
            asyncio.run_coroutine_threadsafe(sending(message), loop).result()

        def start_response(status, headers, exc_info=None):
            if exc_info and started.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            return lambda data: None  # the legacy write(): the portal never uses it

        result = self.wsgi_app(environ, start_response)
        held, size, streaming = [], 0, False
        try:
            for chunk in result:
                if not chunk:
                    continue
                if streaming:
                    deliver({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
                    continue
                held.append(bytes(chunk))
                size += len(chunk)
                if size > BUFFERED:  # too long to hold: stream from here on
                    streaming, started["sent"] = True, True
                    deliver({"type": "http.response.start", "status": started["status"], "headers": started["headers"]})
                    deliver({"type": "http.response.body", "body": b"".join(held), "more_body": True})
                    held = []
            if streaming:
                deliver({"type": "http.response.body", "body": b"", "more_body": False})
                return None
            return started["status"], started["headers"], held
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

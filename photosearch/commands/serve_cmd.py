"""photosearch serve: the web page and the HTTP API, with the model loaded once."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import signal
import socket
import sys
from types import FrameType

from photosearch.commands.common import open_library
from retrieval.errors import UsageError

log = logging.getLogger("photosearch.serve")


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "serve",
        parents=parents,
        help="browse, search, tag and de-duplicate the library in a web browser",
        description="Serve a web page and an HTTP API (described at /api/docs) for the "
        "library. Binds to 127.0.0.1 unless --host says otherwise. While it runs, "
        "`photosearch search` uses its loaded model too.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="port (default 8000; 0: any free)",
    )
    p.add_argument(
        "--token",
        help="require this token on every request (default: $PHOTOSEARCH_TOKEN, else none)",
    )
    p.set_defaults(func=run)


def port_number(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or a UsageError that says what to change."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror:
        raise UsageError(
            f"--host {host}: not an address or known host name of this machine"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} on {host} is already in use: pick another with --port"
            ) from None
        if exc.errno == errno.EACCES:
            raise UsageError(
                f"port {port} needs privileges: pick one above 1023 with --port"
            ) from None
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror}): check --host"
        ) from None
    return sock


def is_loopback(sock: socket.socket) -> bool:
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from indexer.daemon_lock import running_pid
    from photosearch.warm.server import QueryServer
    from photosearch.web.app import create_app

    for name in ("indexer", "retrieval", "photosearch"):
        logging.getLogger(name).setLevel(logging.INFO)
    with open_library(args, writer=False) as library:
        token = library.settings.token
        sock = listen(args.host, args.port)
        loopback = is_loopback(sock)
        if not loopback and token is None:
            print(
                f"photosearch: warning: serving on {args.host}, without a token: anyone "
                "who can reach this machine can see your photos (set --token)",
                file=sys.stderr,
            )
        library.encoder.load()
        root = library.store.root
        app = create_app(library, token=token, loopback_only=loopback)
        # The warm path for `photosearch search`, unless a watch daemon offers it already.
        queries = None
        if running_pid(root) is None:
            queries = QueryServer(library, reader=True)
            if not queries.start():
                queries = None
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        config = uvicorn.Config(
            app,
            log_level="info" if args.verbose else "warning",
            access_log=args.verbose,
            lifespan="off",
        )

        server = uvicorn.Server(config)

        def stop(_signum: int, _frame: FrameType | None) -> None:
            server.should_exit = True

        # Ctrl+C and SIGTERM are the normal way to stop (exit 0): whether they come before
        # uvicorn has its own handlers in place, while it serves (it finishes the requests
        # in flight), or after (it raises them again once its handlers are gone).
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            print(f"serving {root} at {url} (Ctrl+C stops)", flush=True)
            server.run(sockets=[sock])
        finally:
            if queries is not None:
                queries.stop()
            sock.close()
    print("stopped", flush=True)
    return 0

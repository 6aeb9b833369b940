"""photosearch watch: keep the library in sync with photo folders as they change."""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path
from types import FrameType

from photosearch.commands.common import (
    add_indexing_options,
    check_folders,
    open_library,
    seconds,
)
from retrieval.settings import Settings


def register(
    sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    p = sub.add_parser(
        "watch",
        parents=parents,
        help="keep the library in sync as photos come, change, move and go",
        description="Reconcile the folders with the library (as `index` does), then follow "
        "file-system events: new photos are searchable seconds after they land. Stops "
        "cleanly on SIGINT or SIGTERM. One daemon per library.",
    )
    add_indexing_options(p)
    now = Settings.effective()
    p.add_argument(
        "--debounce",
        type=seconds,
        help=f"seconds of quiet before indexing (default {now.debounce:g}; "
        "$PHOTOSEARCH_DEBOUNCE)",
    )
    p.add_argument(
        "--poll",
        action="store_true",
        default=None,
        help="poll instead of native events (network drives, mounted volumes; default "
        f"{'on' if now.poll else 'off'}; $PHOTOSEARCH_POLL)",
    )
    p.add_argument("--log-file", type=Path, metavar="FILE", help="also log to FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from indexer.daemon_lock import DaemonLock
    from indexer.watch import Watcher, WatchOptions
    from photosearch.warm.server import QueryServer

    check_folders(args)
    root_logger = logging.getLogger()
    # Our own loggers speak at INFO (a line per batch); libraries stay at WARNING.
    for name in ("indexer", "retrieval", "photosearch"):
        logging.getLogger(name).setLevel(
            logging.DEBUG if args.verbose else logging.INFO
        )
    if args.log_file is not None:
        try:
            handler = logging.FileHandler(args.log_file)
        except OSError as exc:
            from retrieval.errors import UsageError

            raise UsageError(
                f"cannot write log file {args.log_file}: {exc.strerror}; pick a writable path"
            ) from None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root_logger.addHandler(handler)
    log = logging.getLogger("photosearch.watch")
    for existing in root_logger.handlers:
        existing.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(message)s")
        )

    with open_library(args, create=True) as library:
        lock = DaemonLock(library.store.root, library.store.engine)
        lock.acquire()
        watcher = Watcher(
            library,
            args.folders,
            WatchOptions.from_settings(library.settings),
            # Answers `photosearch search` over the library's socket, model loaded.
            services=[QueryServer(library)],
        )

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info(
                "%s: finishing the batch in flight, then stopping",
                signal.Signals(signum).name,
            )
            watcher.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            log.info(
                "watching %s (library %s)", ", ".join(watcher.roots), library.store.root
            )
            watcher.run()
        finally:
            lock.release()
    log.info("stopped")
    return 0

"""The daemon as a user runs it: `photosearch watch`, then photos arrive, a folder is renamed,
a second daemon is refused, and SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from indexer.daemon_lock import read_status
from tests.conftest import main_in_fresh_process, run_cli, run_in_fresh_process
from tests.helpers import draw, wait_for

PHOTOSEARCH = str(Path(sys.executable).with_name("photosearch"))


def search_paths(library: Path, text: str) -> list[str]:
    result = run_cli("search", text, "--library", str(library), "-k", "50", "--json")
    assert result.returncode == 0, result.stderr
    return [hit["path"] for hit in json.loads(result.stdout)]


def test_watch_end_to_end(tmp_path: Path) -> None:
    photos, library = tmp_path / "photos", tmp_path / "lib"
    draw(photos / "before.png", (250, 250, 0), fmt="PNG")
    log_file = tmp_path / "watch.log"
    daemon = subprocess.Popen(
        [
            PHOTOSEARCH,
            "watch",
            str(photos),
            "--library",
            str(library),
            "--model",
            "demo",
            "--debounce",
            "0.3",
            "--log-file",
            str(log_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: (read_status(library) or {}).get("state") == "watching", timeout=60
        )
        status = json.loads(
            run_cli("status", "--library", str(library), "--json").stdout
        )
        assert status["daemon"]["pid"] == daemon.pid and status["images"] == 1

        draw(photos / "trip" / "red.png", (250, 0, 0), fmt="PNG")
        wait_for(
            lambda: str(photos / "trip" / "red.png") in search_paths(library, "red")
        )
        (photos / "trip").rename(photos / "holiday")
        wait_for(
            lambda: str(photos / "holiday" / "red.png") in search_paths(library, "red")
        )
        assert str(photos / "trip" / "red.png") not in search_paths(library, "red")

        # The warm path: the daemon answers, the same as a search in-process, and the
        # searching process never imports torch.
        warm = search_paths(library, "red")
        cold = run_cli(
            "search",
            "red",
            "--library",
            str(library),
            "-k",
            "50",
            "--json",
            env={"PHOTOSEARCH_NO_WARM": "1"},
        )
        assert [h["path"] for h in json.loads(cold.stdout)] == warm
        output, imported_torch = main_in_fresh_process(
            "search", "red", "--library", str(library)
        )
        assert not imported_torch
        assert "holiday/red.png" in output
        # Nor anything else a warm query would wait for: only the client's few modules.
        output, _ = run_in_fresh_process(
            "import sys\nfrom photosearch.cli import main\n"
            f"sys.argv = ['photosearch', 'search', 'red', '--library', {str(library)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = ('typing', 'socket', 'shutil', 'numpy', 'sqlalchemy', 'logging')\n"
            "print('HEAVY', *[m for m in heavy if m in sys.modules])"
        )
        assert output.splitlines()[-1] == "HEAVY", output
        failed = run_cli("similar", "no-such.jpg", "--library", str(library))
        assert failed.returncode == 2 and "no-such.jpg not found" in failed.stderr

        second = run_cli("watch", str(photos), "--library", str(library))
        assert second.returncode != 0
        assert f"pid {daemon.pid}" in second.stderr and "Traceback" not in second.stderr

        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=15) == 0
        assert time.monotonic() - started < 10
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert read_status(library) is None
    text = log_file.read_text()
    assert "reconciled" in text and "changed paths" in text and "stopped" in text

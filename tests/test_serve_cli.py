"""`photosearch serve` as a user runs it: start, answer, refuse, stop."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import main_in_fresh_process, run_cli, serving


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    made = run_cli(
        "demo",
        str(root),
        "--images",
        "12",
        env={"PHOTOSEARCH_LIBRARY": str(root / "library")},
    )
    assert made.returncode == 0, made.stderr
    return root / "library"


def test_serves_then_stops_cleanly_on_sigterm(library: Path) -> None:
    with serving(library) as (url, process):
        with urllib.request.urlopen(url + "api/status", timeout=30) as answer:
            assert json.load(answer)["images"] == 15
        # While it runs, a search on the command line uses its model (the warm path):
        # no torch in the searching process, and the same answer as in-process.
        output, imported_torch = main_in_fresh_process(
            "search", "a red circle", "--library", str(library), "--json"
        )
        assert not imported_torch
        assert (library / "query.sock").exists()
        cold = run_cli(
            "search",
            "a red circle",
            "--library",
            str(library),
            "--json",
            env={"PHOTOSEARCH_NO_WARM": "1"},
        )
        assert json.loads(output) == json.loads(cold.stdout)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None and "Traceback" not in process.stderr.read()
    assert not (library / "query.sock").exists()


def test_port_in_use_is_one_clear_line(library: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("serve", "--library", str(library), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"photosearch: error: port {port} on 127.0.0.1 is already in use: "
        "pick another with --port"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "not a port number"),
        (["--host", "no-such-host.invalid"], "--host no-such-host.invalid"),
    ],
)
def test_bad_options_are_one_line(library: Path, args: list[str], message: str) -> None:
    result = run_cli("serve", "--library", str(library), *args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_library_is_one_line(tmp_path: Path) -> None:
    result = run_cli("serve", "--library", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(tmp_path / "nothing") in result.stderr


def refuses_all_but(url: str, token: str) -> None:
    """The server at `url` answers 401 without the token and the library with it."""
    port = url.split(":")[2].split("/")[0]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.load(answer)["images"] == 15


def test_other_hosts_get_a_warning_and_a_token_guards(library: Path) -> None:
    with serving(library, "--host", "0.0.0.0", "--token", "t0k") as (url, process):
        assert "?token=t0k" in url
        refuses_all_but(url, "t0k")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        assert "without a token" not in process.stderr.read()
    with serving(library, "--host", "0.0.0.0") as (_, process):
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        assert "anyone who can reach this machine" in process.stderr.read()
    # The token may come from the environment instead of the command line.
    with serving(
        library, "--host", "0.0.0.0", env={"PHOTOSEARCH_TOKEN": "from-env"}
    ) as (url, process):
        refuses_all_but(url, "from-env")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0

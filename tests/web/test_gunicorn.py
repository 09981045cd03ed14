"""The container's own command: gunicorn from the Dockerfile's CMD, on a free loopback port."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_cmd() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    match = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert match, "the Dockerfile has a JSON-form CMD"
    return json.loads(match.group(1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dockerfile_runs_gunicorn_on_7860_as_uid_1000() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "--uid 1000" in text and "USER user" in text
    assert "EXPOSE 7860" in text and "WORKDIR /app" in text
    assert dockerfile_cmd()[0] == "gunicorn"


def test_container_command_serves_healthz_and_power(tmp_path: Path) -> None:
    port = free_port()
    cmd = dockerfile_cmd()
    cmd[0] = str(Path(sys.executable).with_name("gunicorn"))
    database = tmp_path / "abacus.sqlite3"
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "ABACUS_DATABASE": str(database),
    }
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    assert json.load(r) == {"status": "ok"}
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
                time.sleep(0.3)
        with urllib.request.urlopen(f"{base}/power", timeout=10) as r:
            assert r.status == 200
            assert b"Power" in r.read()
        body = json.dumps({"baseline": 0.1, "mde": 0.02, "power": 0.8}).encode()
        request = urllib.request.Request(
            f"{base}/api/power", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.load(r)["result"]["n_per_group"] == 3841
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert "serving.ThreadWorker" in out  # the worker class from gunicorn.conf.py
    assert "GET /healthz" in out  # access log on stdout
    assert database.exists()  # the worker ran the Experiments migrations as it started


def _start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], int]:
    """The container command on a free loopback port, once /healthz answers."""
    port = free_port()
    cmd = dockerfile_cmd()
    cmd[0] = str(Path(sys.executable).with_name("gunicorn"))
    full_env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "ABACUS_DATABASE": str(tmp_path / "abacus.sqlite3"),
        **env,
    }
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("gunicorn did not start within 30 s") from None
            time.sleep(0.3)


def test_stalled_clients_do_not_starve_power_requests(tmp_path: Path) -> None:
    """16 connections that stop mid-request (half the headers, or headers and part of the
    body) leave the server answering: 10 power requests each within 1 s; and the server
    drops the stalled connections after its read timeout."""
    proc, port = _start(tmp_path, GUNICORN_READ_TIMEOUT="3")
    stalled: list[socket.socket] = []
    try:
        for i in range(16):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"POST /api/power HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
            else:
                s.sendall(
                    b"POST /api/power HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                    b'{"baseline": 0.1,'
                )
            stalled.append(s)
        time.sleep(0.5)  # let the server hand them to its threads
        body = json.dumps({"baseline": 0.1, "mde": 0.02, "power": 0.8}).encode()
        for _ in range(10):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/power",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            start = time.monotonic()
            with urllib.request.urlopen(request, timeout=5) as r:
                assert json.load(r)["result"]["n_per_group"] == 3841
            assert time.monotonic() - start < 1.0
        # The read timeout (3 s here) closes every stalled connection, in its worker thread
        # (gunicorn's graceful close on the main loop held every request for 2 s per client);
        # before, nothing closed them within 75 s.
        deadline = time.monotonic() + 12
        for s in stalled:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                while s.recv(4096):  # a 408 answer, then end of stream
                    pass
            except ConnectionResetError:
                pass
        assert time.monotonic() < deadline
        start = time.monotonic()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/power",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200
        assert time.monotonic() - start < 1.0
    finally:
        for s in stalled:
            s.close()
        proc.terminate()
        proc.communicate(timeout=20)

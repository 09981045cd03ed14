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
    assert "gthread" in out  # the worker class from gunicorn.conf.py
    assert "GET /healthz" in out  # access log on stdout
    assert database.exists()  # the worker ran the Experiments migrations as it started

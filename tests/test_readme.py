"""The README's quick start, run as written against a real server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def quickstart_script() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- quickstart:start -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->",
                      readme, re.S)
    assert block, "README has no quick start block"
    return block.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stdout.read()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("server did not become ready")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """`python main.py serve` in embedded mode, exactly as `make run` starts it."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("readme")
    env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(port),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "WEBHOOK_ALLOW_PRIVATE": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "main.py", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_quick_start_runs_as_written(live_server):
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", quickstart_script()],
                            env={**os.environ, "GATEWAY": live_server},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"merchant mer_\w+, API key sk_test_", out), out
    assert '"userErrors":[{' not in out, out
    assert re.search(r"303 -> https://shop.example/thanks\?session=pi_\w+&payment_intent=pi_", out)
    assert '"status":"AUTHORIZED","amountCapturable":9999' in out, out
    assert '"status":"CAPTURED","amountCaptured":9999' in out, out
    assert '"amount":2500' in out and '"status":"PARTIALLY_REFUNDED"' in out, out


def test_demo_prints_a_checkout_url(live_server):
    result = subprocess.run([sys.executable, "main.py", "demo", "--url", live_server], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    url = re.search(r"(http://\S+/checkout/pi_\w+\?client_secret=pi_secret_\w+)",
                    result.stdout).group(1)
    assert httpx.get(url, timeout=5).status_code == 200

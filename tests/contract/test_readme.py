"""The README's quick start, run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from tests.conftest import ROOT


def quickstart_script() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- quickstart:start -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->",
                      readme, re.S)
    assert block, "README has no quick start block"
    return block.group(1)


def test_quick_start_runs_as_written(live_server):
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", quickstart_script()],
                            env={**os.environ, "GATEWAY": live_server.url},
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
    result = subprocess.run([sys.executable, "main.py", "demo", "--url", live_server.url], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    url = re.search(r"(http://\S+/checkout/pi_\w+\?client_secret=pi_secret_\w+)",
                    result.stdout).group(1)
    assert httpx.get(url, timeout=5).status_code == 200


def test_every_setting_is_in_the_configuration_table():
    from dataclasses import fields

    from core.config import Settings

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration"):readme.index("## Hosted checkout")]
    variables = [f.metadata["env"] for f in fields(Settings) if f.metadata.get("env")]
    assert [name for name in variables if f"`{name}`" not in table] == []

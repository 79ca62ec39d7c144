"""The README's quick start, run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT


def quickstart_script() -> str:
    return readme_block("quickstart")


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


def readme_block(name: str) -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {name}:start -->\s*```bash\n(.*?)```\s*<!-- {name}:end -->",
                      readme, re.S)
    assert block, f"README has no {name} block"
    return block.group(1)


FAST_MONEY_ENV = {"SETTLEMENT_DELAY_SECONDS": "5", "PAYOUT_TRANSIT_SECONDS": "3",
                  "DISPUTE_OPEN_DELAY_SECONDS": "2", "DISPUTE_REVIEW_SECONDS": "3",
                  "SWEEP_INTERVAL_SECONDS": "1"}


def test_money_section_runs_as_written(tmp_path):
    """The Money section's block, after the quick start, against a gateway started as the
    section says (short delays), in embedded mode."""
    from tests.conftest import embedded_server

    readme = (ROOT / "README.md").read_text()
    for name, value in FAST_MONEY_ENV.items():
        assert f"{name}={value}" in readme, name  # the command the section shows
    with embedded_server(tmp_path / "money", **FAST_MONEY_ENV) as server:
        script = quickstart_script() + readme_block("money")
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                                env={**os.environ, "GATEWAY": server.url},
                                capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '"userErrors":[{' not in out, out
    assert '{"fee":320,"balanceTransactions":[{"type":"CHARGE","amount":9999,"fee":320,' \
           '"net":9679,"status":"PENDING"}' in out, out
    assert '"available":[{"amount":-2500,"currency":"USD"}],' \
           '"pending":[{"amount":9679,"currency":"USD"}]' in out, out
    assert '{"payoutSchedule":"MANUAL","payoutDestinationLast4":"3000"}' in out, out
    assert '"amount":7179,"status":"IN_TRANSIT","destinationLast4":"3000"' in out, out
    assert '"amount":7179,"status":"PAID"' in out, out
    assert '"amount":5000,"reason":"fraudulent","status":"NEEDS_RESPONSE"' in out, out
    assert '"status":"WON"' in out, out
    assert '[{"type":"DISPUTE_REVERSAL","amount":5000,"fee":0,"net":5000},' \
           '{"type":"DISPUTE","amount":-5000,"fee":1500,"net":-6500},' \
           '{"type":"CHARGE","amount":5000,"fee":175,"net":4825}]' in out, out
    assert "id,type,amount,fee,net,currency,created_at,available_on," in out, out


def test_the_listen_session_runs_as_written(live_server):
    """The Webhooks section's `listen` block, after the quick start, against a live server."""
    from tests.receiver import free_port

    script = quickstart_script() + readme_block("listen")
    venv = str(Path(sys.executable).parent)  # `python` is this environment's
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT,
                            env={**os.environ, "GATEWAY": live_server.url,
                                 "RECEIVER_PORT": str(free_port()),
                                 "PATH": f"{venv}:{os.environ['PATH']}"},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Your webhook signing secret for this session: whsec_" in out, out
    assert re.search(r"payment_intent\.created +evt_\w+ +-> 204", out), out
    assert re.search(r"payment_intent\.captured +evt_\w+ +-> 204", out), out
    assert "Triggered payment_intent.captured" in out, out

"""A normal, non-editable install runs: what a container image, pipx or a wheel does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_pip_install_then_demo_from_another_folder(tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    demo = subprocess.run([str(venv / "bin" / "notifier"), "demo", "--data-dir", str(tmp_path / "data")],
                          cwd=elsewhere, capture_output=True, text=True, timeout=300,
                          env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "referral" in demo.stdout
    # the code ran from site-packages, not from this checkout
    where = subprocess.run([str(python), "-c", "import notifier.resources as r; print(r.TEMPLATE_DIR)"],
                           cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout

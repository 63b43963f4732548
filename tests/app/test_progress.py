"""Progress lines for long runs: drawn on a terminal, silent otherwise (`notifier digest`, `notifier announcement`)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.support.staff import SALO_FI, SALO_ONLY, TURKU_FI, post_change, put_staff, staff_service

from notifier.app.progress import Progress, line

REPO = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_line_shows_bar_counts_and_detail():
    assert line("digest", 0, 4) == "digest [------------------------] 0/4 0%"
    assert line("digest", 3, 4, "sent 3") == "digest [##################------] 3/4 75% sent 3"
    assert line("digest", 0, 0) == "digest [########################] 0/0 100%"  # nothing to do is done
    assert len(line("digest", 1, 2, "x" * 200, width=60)) == 59


def test_progress_redraws_in_place_on_a_terminal_and_is_silent_elsewhere():
    tty = Terminal()
    p = Progress("run", stream=tty)
    p.update(1, 2)
    p.update(2, 2)
    p.finish()
    assert tty.getvalue().count("\r") == 2 and tty.getvalue().endswith("2/2 100%\x1b[K\n")
    pipe = io.StringIO()
    q = Progress("run", stream=pipe)
    q.update(1, 2)
    q.finish()
    assert pipe.getvalue() == ""


def run_command(env: dict[str, str], args: list[str], tty: bool) -> tuple[int, str]:
    """`notifier <args>` in a subprocess, its output on a pseudo-terminal or a pipe."""
    command = [sys.executable, "-m", "notifier", *args]
    if not tty:
        proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout + proc.stderr
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(command, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal is gone: the command has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return proc.wait(30), b"".join(chunks).decode()


async def test_notifier_digest_shows_progress_on_a_terminal_and_json_for_scripts(start_service, smtp):
    svc = await staff_service(start_service, smtp)
    await put_staff(svc, "T-1", TURKU_FI)
    await put_staff(svc, "S-1", SALO_FI)
    await post_change(svc, SALO_ONLY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_"))}
    env.update(REDIS_URL=svc.settings.redis_url or "", NOTIFIER_LOG_LEVEL="WARNING")

    code, out = await asyncio.to_thread(run_command, env, ["digest", "--wait", "30"], True)
    assert code == 0, out
    assert "\r" in out and "[" in out and "2/2 100%" in out  # the progress line, drawn in place
    assert "2 staff, 2 recipient(s)" in out

    code, out = await asyncio.to_thread(run_command, env, ["digest", "--wait", "30", "--json"], False)
    assert code == 0, out
    report = json.loads(out)  # nothing but the JSON report
    assert report["complete"] is True and report["skipped"]["already_this_week"] == 2


async def test_notifier_announcement_follows_the_messages_until_they_are_out(start_service, smtp):
    svc = await staff_service(start_service, smtp)
    for i in range(3):
        await put_staff(svc, f"T-{i}", {**TURKU_FI, "email": f"t{i}@tyollisyysalue.example"})
    status, answer = await svc.api("POST", "/api/announcements", json={
        "subject": {"fi": "Tiedote"}, "body": {"fi": "Huomenna ei alkuinfoa."}, "audience": {}, "channels": ["email"]})
    assert status == 202, answer
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_"))}
    env.update(REDIS_URL=svc.settings.redis_url or "", NOTIFIER_LOG_LEVEL="WARNING")

    code, out = await asyncio.to_thread(run_command, env, ["announcement", answer["id"], "--wait", "30"], True)
    assert code == 0, out
    assert "3/3 100%" in out and "\r" in out
    assert f"announcement {answer['id']}: 3 recipient(s), 3 message(s): sent 3, failed 0, pending 0" in out

    code, out = await asyncio.to_thread(run_command, env, ["announcement", answer["id"], "--json"], False)
    assert code == 0 and json.loads(out)["statuses"] == {"sent": 3}
    code, out = await asyncio.to_thread(run_command, env, ["announcement", "no-such-id"], False)
    assert code == 3 and "no announcement" in out

"""`autoplay relay --workers N`: N supervised members; a killed one comes back; Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from autoplay_cli.relay.group.supervisor import child_args

from ..conftest import EXAMPLES
from .procs import status, wait_for


def test_child_args_drop_workers_and_member_and_name_each_child() -> None:
    argv = ["--workers", "3", "--store", "redis://x", "--member=me", "--to", "-"]
    assert child_args(argv, 1, "host") == [
        "--store", "redis://x", "--to", "-", "--listen", "127.0.0.1:8789",
        "--group", "--member", "host-w1",
    ]  # fmt: skip


def test_child_args_give_each_worker_its_own_port() -> None:
    argv = ["--workers", "2", "--listen", "0.0.0.0:9000", "--store", "redis://x"]
    ports = [child_args(argv, i, "h")[child_args(argv, i, "h").index("--listen") + 1]
             for i in range(2)]  # fmt: skip
    assert ports == ["0.0.0.0:9000", "0.0.0.0:9001"]
    for kept in ("off", "127.0.0.1:0"):
        args = child_args(["--listen=" + kept, "--store", "redis://x"], 3, "h")
        assert args[args.index("--listen") + 1] == kept
    replay = child_args(["--replay", "r.ndjson", "--store", "redis://x"], 1, "h")
    assert "--listen" not in replay


def pids(url: str, product: str) -> dict[str, int]:
    st = status(url, product)
    if st is None:
        return {}
    return {m.member: int(m.stats["pid"]) for m in st.members if m.alive and "pid" in m.stats}


def test_workers_are_supervised_and_stopped_together(redis_url: str, tmp_path: Path) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/11"
    rec = EXAMPLES / "simulate" / "recording.ndjson"
    parent = subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "relay", "--workers", "2", "--member", "sup",
         "--replay", str(rec), "--store", url, "--to", "-", "--lease-ttl", "1",
         "--partitions", "4"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "AUTOPLAY_DATA_DIR": str(tmp_path)},
    )  # fmt: skip
    try:
        first: dict[str, int] = wait_for(
            lambda: (p := pids(url, "demo")) and len(p) == 2 and p, 30, "two workers"
        )
        assert set(first) == {"sup-w0", "sup-w1"}
        os.kill(first["sup-w0"], signal.SIGKILL)
        wait_for(
            lambda: pids(url, "demo").get("sup-w0") not in (None, first["sup-w0"]),
            20,
            "worker 0 restarted",
        )
        parent.send_signal(signal.SIGINT)
        _, err = parent.communicate(timeout=30)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert parent.returncode == 0, err.decode()
    assert b"worker 0 exited with -9" in err
    for pid in [first["sup-w1"]]:
        try:
            os.kill(pid, 0)
            raise AssertionError(f"worker {pid} still running after Ctrl-C")
        except ProcessLookupError:
            pass

"""scripts/toolchain stops when told: TERM, INT and HUP reach the command it runs.

Without Python 3.14 on the host, `scripts/toolchain CMD` (and every script that uses it) leaves one
process of its own running: the shell of `--enter-chroot`, in a private mount namespace, which
chroots into the Debian root file system to run CMD and unmounts after it. That shell must pass the
signals it gets on to CMD, and exit with CMD's status once CMD has stopped, leaving nothing mounted.

The test suite itself runs in that root file system (scripts/test), where the toolchain finds
Python and would just exec CMD. So these tests take the real path from the step the toolchain
takes last: `unshare` (a new mount namespace) and `scripts/toolchain --enter-chroot ROOT` with ROOT
the root file system they run in, `/`, which then runs the real scripts/toolchain and, through it,
the real scripts/emulator or a plain command. Only the root file system's preparation (debootstrap,
checks, which need no signals) is left out. The signals go to the pid the toolchain leaves running
(unshare's, which execs the shell), never to its process group.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from typing import IO
import urllib.request
import uuid

import pytest

REPO = Path(__file__).resolve().parent.parent
TOOLCHAIN = str(REPO / "scripts" / "toolchain")
WAIT = 15.0

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("chroot"),
    reason="the toolchain's root file system path needs root, unshare and chroot",
)


def _mountinfo() -> list[str]:
    return Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()


def _propagation() -> str:
    """Return unshare's --propagation for the new mount namespace, as the toolchain would use it.

    The toolchain makes every mount of its namespace private. Inside its root file system, `/` is
    not a mount point, so unshare cannot make it private again (EINVAL): there the mounts are
    copied as they are, private already.
    """
    if not os.environ.get("SMARTWATS_IN_CHROOT"):
        return "private"
    assert not [line for line in _mountinfo() if " shared:" in line.split(" - ")[0]]
    return "unchanged"


def _enter(*command: str) -> list[str]:
    """Return the toolchain's last step for `command`: what `exec unshare ...` runs."""
    return [
        "unshare",
        "--mount",
        f"--propagation={_propagation()}",
        "--",
        "/bin/bash",
        TOOLCHAIN,
        "--enter-chroot",
        "/",
        "/bin/bash",
        TOOLCHAIN,
        *command,
    ]


def _environment() -> dict[str, str]:
    """The environment of a shell outside the toolchain (same requirements as this run)."""
    env = dict(os.environ)
    for name in ("SMARTWATS_IN_TOOLCHAIN", "SMARTWATS_IN_CHROOT"):
        env.pop(name, None)
    return env


def _pids_mentioning(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return pids


def _pids_in_mount_namespace(namespace: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str((entry / "ns" / "mnt").readlink()) == namespace:
                    pids.append(int(entry.name))
    return pids


def _wait_for(what: str, probe: object, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not probe():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class _Lines:
    """The lines a process prints, read in a thread, to wait for one without blocking."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)

    def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} within {timeout} s: {self.seen}")
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found


@contextlib.contextmanager
def _started(*command: str) -> Iterator[tuple[subprocess.Popen[str], _Lines]]:
    """Start `command` through the toolchain's last step, in a session of its own.

    Whatever is left of it at the end is killed, so that a failing test leaves nothing running.
    """
    process = subprocess.Popen(  # noqa: S603 - our own scripts
        _enter(*command),
        cwd=REPO,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    lines = _Lines(process.stdout)
    try:
        yield process, lines
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        lines.reader.join(WAIT)
        process.stdout.close()


@pytest.mark.usefixtures("socket_enabled")
def test_sigterm_stops_the_emulator() -> None:
    """SIGTERM to scripts/emulator's pid stops it cleanly; nothing is left running or mounted."""
    mounts_before = _mountinfo()
    marker = f"sigterm-{uuid.uuid4().hex}"  # the emulator's token: names its processes
    with _started(
        str(REPO / "scripts" / "emulator"), "--host", "127.0.0.1", "--port", "0", "--token", marker
    ) as (process, lines):
        url = lines.wait_for(r"phone page:\s+(\S+)").group(1)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url + "_emulator/instances", timeout=5) as answer:
            assert answer.status == 200
        namespace = str(Path(f"/proc/{process.pid}/ns/mnt").readlink())
        assert namespace != str(Path("/proc/self/ns/mnt").readlink())
        assert _pids_mentioning(marker)

        os.kill(process.pid, signal.SIGTERM)

        assert process.wait(timeout=WAIT) == 0  # the emulator's own status: it stopped cleanly
        _wait_for("the emulator to end", lambda: not _pids_mentioning(marker))
        # No process left in the namespace: it is gone with everything mounted in it.
        _wait_for("the mount namespace to go", lambda: not _pids_in_mount_namespace(namespace))
    assert _mountinfo() == mounts_before


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGHUP, 129), (signal.SIGTERM, 143)]
)
def test_signals_reach_the_command(signum: signal.Signals, status: int) -> None:
    """INT, HUP and TERM reach a plain command, which the signal ends: its status is returned.

    SIGINT too: the command gets it back at its default (bash ignores it in background commands).
    The status of a command ended by a signal is 128 + the signal's number.
    """
    mounts_before = _mountinfo()
    marker = f"signal-{uuid.uuid4().hex}"
    command = f"echo started; exec -a {marker} sleep 60"
    with _started("/bin/bash", "-c", command) as (process, lines):
        lines.wait_for("started")
        _wait_for("the command", lambda: _pids_mentioning(marker))
        os.kill(process.pid, signum)
        assert process.wait(timeout=WAIT) == status
        _wait_for("the command to end", lambda: not _pids_mentioning(marker))
    assert _mountinfo() == mounts_before


def test_status_of_a_command_that_ends() -> None:
    """A command that ends by itself: the toolchain exits with its status."""
    with _started("/bin/sh", "-c", "exit 7") as (process, _):
        assert process.wait(timeout=WAIT) == 7


def test_the_command_reads_the_callers_standard_input() -> None:
    """`scripts/toolchain python - <<EOF` runs the script it is given: stdin reaches the command.

    Bash gives a background command /dev/null as its input unless told otherwise.
    """
    result = subprocess.run(  # noqa: S603 - our own scripts
        _enter("/bin/sh", "-c", "cat; exit 3"),
        cwd=REPO,
        env=_environment(),
        input="from the caller\n",
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert (result.returncode, result.stdout) == (3, "from the caller\n"), result.stderr

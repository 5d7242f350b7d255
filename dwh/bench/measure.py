"""Run a command as a child process and measure it: wall time and peak RSS as the kernel reports them."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger("dwh.bench")
GNU_TIME = "/usr/bin/time"
_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")


@dataclass
class Measurement:
    """One child run. peak_rss_mb: the largest single process (GNU time -v, i.e. the kernel's ru_maxrss of the
    child and its waited-for descendants); tree_rss_mb: the largest sampled sum over the whole process tree,
    which is what the machine had to hold when a command runs worker processes."""

    returncode: int
    wall_s: float
    peak_rss_mb: float
    tree_rss_mb: float
    log_path: Path
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class _TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its descendants every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join(timeout=5)
        return self.peak


def python_module(module: str, *args: str) -> list[str]:
    """The command line that runs `python -m module args` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def _kill_group(proc: subprocess.Popen, flag: list[bool]) -> None:
    """Stop the child's process group (it runs in a session of its own): TERM, then KILL after 10 s."""
    flag.append(True)
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)


def run_measured(
    cmd: list[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    stdout_path: Path | None = None,
    timeout: float | None = None,
) -> Measurement:
    """Run cmd (stderr to log_path, stdout to stdout_path or the log) under GNU time -v when the system has it,
    else with os.wait4; both give the kernel's peak RSS of the child. After `timeout` seconds the child's
    process group is stopped and the measurement is marked timed_out."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    use_time = shutil.which(GNU_TIME) is not None
    time_file = None
    if use_time:
        fd, name = tempfile.mkstemp(prefix="bench-time-", suffix=".txt")
        os.close(fd)
        time_file = Path(name)
        cmd = [GNU_TIME, "-v", "-o", str(time_file), *cmd]
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "wb") as err, open(stdout_path or log_path, "ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=full_env, start_new_session=True)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        timed_out: list[bool] = []
        timer = threading.Timer(timeout, _kill_group, (proc, timed_out)) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        if use_time:
            returncode = proc.wait()
            peak_kb = 0
        else:
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = returncode = os.waitstatus_to_exitcode(status)
            peak_kb = usage.ru_maxrss
        wall = time.perf_counter() - started
        if timer is not None:
            timer.cancel()
        tree = sampler.stop()
    if time_file is not None:
        text = time_file.read_text(errors="replace")
        time_file.unlink(missing_ok=True)
        match = _MAX_RSS.search(text)
        peak_kb = int(match.group(1)) if match else int(tree / 1024)
        with open(log_path, "a", encoding="utf-8") as err:
            err.write("\n--- " + GNU_TIME + " -v ---\n" + text)
    return Measurement(
        returncode=returncode,
        wall_s=wall,
        peak_rss_mb=peak_kb / 1024,
        tree_rss_mb=max(tree / 2**20, peak_kb / 1024),
        log_path=log_path,
        timed_out=bool(timed_out),
    )

"""Figures and the facts around them: medians of runs, percentiles, peak memory of processes,
the machine they ran on."""
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0-100), nearest rank: an observed value, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


class Figures:
    """Named figures, each the median of its runs, with the runs kept."""

    def __init__(self):
        self.figures: dict[str, dict] = {}

    def add(self, name: str, value: float, unit: str, **detail) -> None:
        figure = self.figures.setdefault(name, {"unit": unit, "runs": []})
        figure["runs"].append(round(value, 3))
        figure["median"] = round(statistics.median(figure["runs"]), 3)
        if detail:
            figure.setdefault("detail", []).append(detail)

    def median(self, name: str) -> float | None:
        figure = self.figures.get(name)
        return figure["median"] if figure else None

    def ratio(self, numerator: str, denominator: str) -> float | None:
        top, bottom = self.median(numerator), self.median(denominator)
        return round(top / bottom, 3) if top is not None and bottom else None


def peak_rss_mb(pid: int) -> float | None:
    """A live process's peak resident memory (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of a process (gunicorn's workers under its master)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _seconds(ticks) -> float:
    return sum(map(int, ticks)) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """A live process's CPU time so far (user + system, all its threads), 0 if it is gone."""
    try:
        return _seconds(_stat(pid)[11:13])
    except OSError:
        return 0.0


SERVERS = {"postgres": "PostgreSQL", "beam.smp": "RabbitMQ"}  # process name -> server


def servers_cpu() -> dict[tuple[int, str], tuple[str, float, float]]:
    """The database's and the broker's processes on this machine now: (pid, start time) ->
    (server, its own CPU seconds, those of its children that ended and it reaped)."""
    reading = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            server = SERVERS.get((entry / "comm").read_text().strip())
            if not server:
                continue
            fields = _stat(int(entry.name))
        except OSError:  # it ended meanwhile
            continue
        reading[int(entry.name), fields[19]] = (
            server, _seconds(fields[11:13]), _seconds(fields[13:15]))
    return reading


def servers_cpu_spent(before: dict, after: dict) -> dict[str, float]:
    """The servers' CPU seconds between two readings of `servers_cpu`. A process seen at the
    second reading counts what it spent since the first (all of it if it is new). One that
    ended (a PostgreSQL backend whose connection closed) handed its time to its parent's
    reaped children: their growth, less what the ended ones had at the first reading, is
    what they spent meanwhile. Never below zero: a process that ends while a reading is
    taken may be missed or seen twice, and a backend of another client ending is no
    negative cost of this one's."""
    spent = dict.fromkeys(SERVERS.values(), 0.0)
    ended = dict.fromkeys(SERVERS.values(), 0.0)
    for key, (server, own, reaped) in after.items():
        _, own_before, reaped_before = before.get(key, (server, 0.0, 0.0))
        spent[server] += own - own_before
        ended[server] += reaped - reaped_before
    for key, (server, own, _) in before.items():
        if key not in after:
            ended[server] -= own
    return {server: spent[server] + max(ended[server], 0.0) for server in spent}


def own_peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed_child(argv: list[str], env: dict, cwd) -> tuple[float, float, str]:
    """Run a command to its end: (seconds, its peak resident memory in MB, its output)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{output[-2000:]}")
    return seconds, round(usage.ru_maxrss / 1024, 1), output


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
        return out.strip().splitlines()[0] if out.strip() else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory_gb": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "python": sys.version.split()[0],
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def server_versions(postgres_url: str | None) -> dict:
    out = {"rabbitmq": _first_line(["rabbitmqctl", "-q", "version"])}
    if postgres_url:
        import psycopg
        with psycopg.connect(postgres_url) as conn:
            out["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    return out

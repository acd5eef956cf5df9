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


def cpu_seconds(pid: int, reaped_children: bool = False) -> float:
    """A live process's CPU time so far (user + system, all its threads), 0 if it is gone;
    with `reaped_children`, that of its children that have ended too."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


SERVERS = {"postgres": "PostgreSQL", "beam.smp": "RabbitMQ"}  # process name -> server


def servers_cpu_seconds() -> dict[str, float]:
    """CPU time so far of the database's and the broker's processes on this machine. A
    PostgreSQL backend that ends (a connection closed) hands its time to the postmaster's
    reaped children, so the sum only grows: the backends are read before the postmaster
    (newest process first), so one that ends meanwhile is counted in it, not lost."""
    spent = dict.fromkeys(SERVERS.values(), 0.0)
    pids = sorted((int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()),
                  reverse=True)
    for pid in pids:
        try:
            server = SERVERS.get(Path(f"/proc/{pid}/comm").read_text().strip())
        except OSError:
            continue
        if server:
            spent[server] += cpu_seconds(pid, reaped_children=True)
    return spent


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

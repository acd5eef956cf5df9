"""`make test`: the tests two at a time (pytest-xdist), since most of a test's time is spent
waiting on the processes and servers it talks to; then, alone, those marked `exclusive`,
which stop a server every other test shares. Arguments narrow both parts, as pytest's."""
import subprocess
import sys

WORKERS = "2"
NOTHING_COLLECTED = 5  # pytest's exit status when a part selects no test


def main(args: list[str]) -> int:
    # worksteal: a worker that runs out takes tests queued for the other (the slow ones
    # would otherwise end the run on one worker)
    parts = (["-n", WORKERS, "--dist", "worksteal", "-m", "not exclusive"],
             ["-p", "no:xdist", "-m", "exclusive"])
    codes = [subprocess.call([sys.executable, "-m", "pytest", *part, *args]) for part in parts]
    failed = [code for code in codes if code not in (0, NOTHING_COLLECTED)]
    if failed:
        return failed[0]
    return NOTHING_COLLECTED if set(codes) == {NOTHING_COLLECTED} else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

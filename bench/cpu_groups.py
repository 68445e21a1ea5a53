"""CPU weight of a process as a deployment gives it, and CPU time per role over a window.

`nice` orders processes only inside one scheduling group. The kernel puts every session in
its own group (autogroup, /proc/sys/kernel/sched_autogroup_enabled), systemd every service
in its own cgroup and a container runtime every container: a `nice 19` export worker in a
group of its own still gets its group's full share against the web server's group. What
lowers it across groups is the group's weight: systemd's `CPUWeight=`, compose's
`cpu_shares`, or a cgroup's `cpu.shares` / `cpu.weight`, which is what `place_command`
sets up for a benchmark.
"""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path

V1 = Path("/sys/fs/cgroup/cpu")  # cgroup v1 CPU controller
V2 = Path("/sys/fs/cgroup")  # cgroup v2 unified hierarchy


def _v2_has_cpu() -> bool:
    try:
        return "cpu" in (V2 / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def cpu_group(name: str, shares: int) -> Path | None:
    """A CPU cgroup of `shares` (the cgroup v1 / compose unit, 1024 = a default group), or
    None when this machine does not let us make one (no CPU controller, no permission)."""
    try:
        if (V1 / "cpu.shares").exists():
            group = V1 / name
            group.mkdir(exist_ok=True)
            (group / "cpu.shares").write_text(str(shares))
        elif _v2_has_cpu():
            group = V2 / name
            group.mkdir(exist_ok=True)
            # cgroup v2 weights run 1..10000 with 100 for a default group.
            (group / "cpu.weight").write_text(str(max(1, round(shares * 100 / 1024))))
        else:
            return None
    except OSError:
        return None
    return group


def remove_group(group: Path | None) -> None:
    """Remove the group once its processes are gone (the kernel refuses otherwise)."""
    if group is not None:
        with contextlib.suppress(OSError):
            group.rmdir()


def place_command(group: Path | None, command: list[str]) -> list[str]:
    """`command` started inside `group`: the shell joins it, then becomes the command, so
    every process the command forks (a prefork pool's children) is in the group too."""
    if group is None:
        return command
    return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group / "cgroup.procs"), *command]


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of one process so far (all its threads), and with
    `children` those of its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), sum(ticks) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            todo += [
                int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()
            ]
    return pids


def _tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p, children=True) for p in _tree(pid))


def _postgres() -> float:
    """Every PostgreSQL process's CPU, with the postmaster's reaped backends."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat.split(" (", 1)[1].startswith("postgres)"):
            total += cpu_seconds(int(entry.name), children=True)
    return total


def sample(roles: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each role's process tree, PostgreSQL, the caller's waited-for
    children (wrk) and the whole machine (busy, total)."""
    found = {role: _tree_cpu(pid) for role, pid in roles.items()}
    found["postgresql"] = _postgres()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    found["load_generator"] = usage.ru_utime + usage.ru_stime
    found["machine_busy"], found["machine_total"] = machine_cpu()
    return found


def shares_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Each role's share of the machine's CPU time between two samples (0..1), and the busy
    share."""
    total = max(after["machine_total"] - before["machine_total"], 1e-9)
    return {
        role: round((after[role] - before[role]) / total, 3)
        for role in after
        if role != "machine_total"
    }

"""A process's memory figures as Linux reports them in /proc/PID/status.

Rules:
- Figures are read, never estimated: VmRSS (resident now) and VmHWM (its high-water mark, which
  the scripts reset by writing "5" to /proc/PID/clear_refs just before what they measure).
- In KiB, as the kernel gives them; the reports convert to MB (2^20 bytes).
"""

from pathlib import Path


def status_kib(field: str, pid: int | str = "self") -> int:
    """One `Vm…` field of /proc/PID/status in KiB; the calling process's by default."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")

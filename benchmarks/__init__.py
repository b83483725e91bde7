"""Speed benchmarks; each script prints its figures side by side in one run."""
import os
import platform


def machine():
    """'<CPU model>, <N> cores' for the header of a benchmark's output (figures depend on it)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"

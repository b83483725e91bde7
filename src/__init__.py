"""MindSpore Siamese-tracker zoo.

Importing this package first (every entry point does) fixes the CPU convolution
speed before MindSpore is loaded: on AVX-512 CPUs MindSpore 2.9/2.10's oneDNN
chooses a reference NCHW convolution kernel that is ~150x slower than the AVX2
gemm kernel. Capping the ISA at AVX2 restores the fast path. A value the user
set is never overridden (``ONEDNN_MAX_CPU_ISA=ALL`` lifts the cap).

What the cap costs depends on the CPU (:data:`ISA_CHOICE` says, and the ``src`` logger
says once at INFO): nothing on a CPU without AVX-512 (oneDNN's kernels there are AVX2
ones anyway; measured on a Zen 3: the Cell's network equals PyTorch's at 1 thread), about
half the FMA throughput of an AVX-512 CPU (Zen 4/5, Intel since Skylake-SP), where it is
what remains of the Cell's gap to PyTorch there.
"""
import logging
import os
import sys
import warnings

ISA_VAR = "ONEDNN_MAX_CPU_ISA"     # read by oneDNN (MindSpore's and OpenVINO's) once per process


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (an empty set where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            return set(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:
        return set()


def _isa_choice():
    if ISA_VAR in os.environ:
        return f"{ISA_VAR}={os.environ[ISA_VAR]} (the user's value, kept)"
    if "mindspore" in sys.modules:
        warnings.warn(
            f"mindspore was imported before 'src'; {ISA_VAR}=AVX2 can no longer take "
            "effect and CPU convolutions may be ~150x slower. Import src first or "
            f"export {ISA_VAR}=AVX2.", RuntimeWarning, stacklevel=3)
    os.environ[ISA_VAR] = "AVX2"
    if "avx512f" in cpu_flags():
        return (f"{ISA_VAR}=AVX2: AVX-512 CPU, MindSpore's oneDNN capped at AVX2 (about half its FMA "
                "throughput) to keep NCHW convolutions off the reference kernel; "
                f"{ISA_VAR}=ALL lifts the cap")
    return f"{ISA_VAR}=AVX2: no AVX-512 on this CPU, the cap changes no kernel"


ISA_CHOICE = _isa_choice()
logging.getLogger(__name__).info("oneDNN ISA: %s", ISA_CHOICE)

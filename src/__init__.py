"""MindSpore Siamese-tracker zoo.

Importing this package first (every entry point does) fixes the CPU convolution
speed before MindSpore is loaded: on AVX-512 CPUs MindSpore 2.9/2.10's oneDNN
chooses a reference NCHW convolution kernel that is ~150x slower than the AVX2
gemm kernel. Capping the ISA at AVX2 restores the fast path. A value the user
set is never overridden.
"""
import os
import sys
import warnings

_ISA_VAR = "ONEDNN_MAX_CPU_ISA"

if _ISA_VAR not in os.environ:
    if "mindspore" in sys.modules:
        warnings.warn(
            f"mindspore was imported before 'src'; {_ISA_VAR}=AVX2 can no longer take "
            "effect and CPU convolutions may be ~150x slower. Import src first or "
            f"export {_ISA_VAR}=AVX2.", RuntimeWarning, stacklevel=2)
    os.environ[_ISA_VAR] = "AVX2"

"""src/__init__.py: the oneDNN ISA cap is set before MindSpore loads, a user's value is kept, and
the choice is stated per CPU."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = "import os, src; print(os.environ['ONEDNN_MAX_CPU_ISA']); print(src.ISA_CHOICE)"


def _probe(**env):
    base = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env={**base, **env}, capture_output=True,
                         text=True, timeout=120, check=True).stdout.splitlines()
    return out[0], out[1]


def test_cap_set_and_choice_names_the_cpu():
    import src
    value, choice = _probe()
    assert value == "AVX2"
    if "avx512f" in src.cpu_flags():
        assert "AVX-512 CPU" in choice and "ONEDNN_MAX_CPU_ISA=ALL" in choice
    else:
        assert "no AVX-512" in choice


def test_user_value_kept():
    value, choice = _probe(ONEDNN_MAX_CPU_ISA="ALL")
    assert value == "ALL" and "user's value" in choice

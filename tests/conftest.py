import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import src  # noqa: E402,F401  (CPU convolution fix before any test imports mindspore)

GOLDEN = os.path.join(ROOT, "..", "shared", "golden")


# Modules whose tests run the entry points, train, export or build the C++ app: seconds to minutes each.
SLOW_MODULES = {
    "test_demo", "test_deploy_faults", "test_distributed", "test_distributed_msrun", "test_eval_cli",
    "test_eval_faults", "test_eval_provenance", "test_export", "test_got10k_adapter", "test_gpu_check",
    "test_infer_cpp", "test_modelarts", "test_prepare_then_train", "test_siamfc_training", "test_siammask_training",
    "test_training",
    "test_training_faults", "test_training_recipes",
    "test_vos",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if module == "test_infer_cpp":
            item.add_marker(pytest.mark.cpp)
        if "golden_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.golden)


@pytest.fixture(scope="session")
def golden_dir():
    if not os.path.isdir(GOLDEN):
        pytest.skip(f"golden reference data not found at {os.path.normpath(GOLDEN)} "
                    "(it lives beside the repository as ../shared/golden)")
    return GOLDEN


@pytest.fixture(scope="session", autouse=True)
def graph_mode_cpu():
    import mindspore as ms
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.set_device("CPU")


def synthetic_test_sets(root, seed, videos, frames, sub="data"):
    """Write the synthetic test sets (VOTSYN, OTBSYN, DAVISSYN) under ``root/sub/test``
    (with a minimal 1-video train part); returns ``root``."""
    from src.data.synthetic import generate
    generate(str(root / sub), seed=seed, train_videos=1, train_frames=2, val_videos=0,
             test_videos=videos, test_frames=frames)
    return root


def polygon_distance(a, b):
    """Largest vertex distance between two quadrilaterals, over the vertex orders
    that describe the same polygon (cv2.boxPoints starts at a different corner
    in OpenCV 4 than in OpenCV 5, which made the reference)."""
    a, b = np.reshape(a, (4, 2)), np.reshape(b, (4, 2))
    orders = [np.roll(b, k, axis=0) for k in range(4)] + [np.roll(b[::-1], k, axis=0) for k in range(4)]
    return min(np.abs(a - o).max() for o in orders)


def run_script(script, *args, timeout=900, env=None, cwd=None):
    """Run one of the repository's entry points (``eval.py``, ``train.py``, ...) as a user would."""
    import subprocess
    cmd = [sys.executable, os.path.join(ROOT, script), *[str(a) for a in args]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=None if env is None else {**os.environ, **env})


def assert_one_line_error(proc, *fragments, prefix=None):
    """A refused run: non-zero exit, no traceback, and the last stderr line names every fragment.

    ``prefix`` (e.g. ``"eval.py: "``) is what the message starts with.
    """
    err = proc.stderr
    assert proc.returncode != 0, (proc.stdout[-2000:], err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines, "no error message on stderr"
    last = lines[-1]
    if prefix is not None:
        assert last.startswith(prefix), last
    for fragment in fragments:
        assert str(fragment) in last, (fragment, last)
    return last

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import src  # noqa: E402,F401  (CPU convolution fix before any test imports mindspore)

GOLDEN = os.path.join(ROOT, "..", "shared", "golden")


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

"""``python -m src.data.prepare DATASET --src RAW --out OUT``: public datasets to pysot's crop511 layout.

One module per dataset, each defining ``SOURCE`` (a :class:`~src.data.prepare.core.Source`
subclass); ``SOURCES`` maps the CLI name to its module so that only the
chosen dataset's module (and its dependencies, e.g. pycocotools) is imported.
"""
import importlib

SOURCES = {
    "vid": "src.data.prepare.vid",          # ImageNet VID (ILSVRC2015)
    "ytb": "src.data.prepare.ytb",          # YouTube-BoundingBoxes
    "coco": "src.data.prepare.coco",        # COCO 2017 (boxes + masks)
    "det": "src.data.prepare.det",          # ImageNet DET (ILSVRC2013/2014/2015)
    "ytb_vos": "src.data.prepare.ytb_vos",  # YouTube-VOS 2018/2019 (masks)
    "got10k": "src.data.prepare.got10k",    # GOT-10k
    "lasot": "src.data.prepare.lasot",      # LaSOT
}


def get_source(name):
    """The Source class of dataset ``name`` (KeyError-free: PrepareError for unknown names)."""
    from src.data.prepare.core import PrepareError
    if name not in SOURCES:
        raise PrepareError(f"unknown dataset '{name}' (choose from {', '.join(SOURCES)})")
    return importlib.import_module(SOURCES[name]).SOURCE

"""The tracker families: one :class:`Family` record per ``model.arch``.

Everything that differs between families is a field of its record, so building a
config (its typed sections), a model, a tracker, a loss, the loader's label columns,
validation, export (the declared graphs and decoder) and the back-ends are look-ups
(``get_family(cfg.model.arch).field``), never ``arch == ...`` branches. Each family
registers itself at the end of its own model file (``register(Family(...))`` in
siamrpn.py, siammask.py, siamfc.py, sasiam.py); the
factories there import the tracker, loss and data modules inside their bodies, so a
model file stays importable on its own and no import cycle arises.

Adding a family: write its model file (config section classes, network, ``graphs`` /
``decoder`` declarations, a ``register(...)`` call), its tracker class (a
``src/tracker/base.py`` ``SiameseTracker`` subclass), its targets (loader side) and
loss cell, and add the module's name to
``FAMILY_MODULES`` below (the one line outside the family's files: an explicit list
keeps registration order and import cost predictable, where scanning the package
would import every backbone and head module).
"""
from dataclasses import dataclass, field
import importlib
from typing import Callable, Mapping, Optional, Tuple

# modules of src.models that register a family (imported on the first look-up)
FAMILY_MODULES = ("siamrpn", "siammask", "siamfc", "sasiam")


@dataclass(frozen=True)
class GraphSpec:
    """One graph of a tracker (a family's ``graphs(cfg)`` lists them in call order).

    * ``name``: "template", "search", "refine"...; a back-end's ``template`` / ``track`` /
      ``refine`` run the graph of that name, ``run(name, inputs)`` any of them.
    * ``cell(net) -> nn.Cell``: the graph over ``net``'s parameters (src/models/split.py);
      its ``construct`` takes ``inputs`` in order and returns ``outputs`` (a tuple) in order.
    * ``inputs``: ((name, shape), ...). A shape (from the config: crop sizes, SiamFC's
      scale_num) is the input the tracker feeds; ``None`` is an earlier graph's output of
      that name (the search graph's kernels), or what ``example_inputs`` makes.
    * ``outputs``: the output names, in the order the cell returns them.
    * ``batch_may_exceed_one``: whether the first dimension of the shaped inputs may be
      more than 1 (SiamFC's search scales; the export fixes it to the declared shape).
    * ``example_inputs(values) -> {input name: numpy array}``: inputs made from the outputs
      of earlier graphs (``values``: {output name: array}), where a graph's inputs are not
      outputs as such (SiamMask's refine crops of the search features); None: none needed.
    """
    name: str
    cell: Callable
    inputs: Tuple[Tuple[str, Optional[Tuple[int, ...]]], ...]
    outputs: Tuple[str, ...]
    batch_may_exceed_one: bool = False
    example_inputs: Optional[Callable] = None

    @property
    def input_names(self):
        return tuple(name for name, _ in self.inputs)

    @property
    def shaped_inputs(self) -> Mapping[str, Tuple[int, ...]]:
        """{name: shape} of the inputs the tracker feeds (crops)."""
        return {name: tuple(shape) for name, shape in self.inputs if shape is not None}


def graph_specs(cfg):
    """{name: GraphSpec} of the family ``cfg.model.arch``, in call order."""
    return {spec.name: spec for spec in get_family(cfg.model.arch).graphs(cfg)}


@dataclass(frozen=True)
class Family:
    """What the code needs to know about one tracker family.

    * ``build_model(cfg) -> nn.Cell``: the network (template / track / construct).
    * ``build_tracker(cfg, backend) -> tracker``: ``init`` / ``track`` over a back-end
      (src/tracker/backends.py).
    * ``build_loss(cfg, network) -> (loss cell, part names)``: the cell returns
      ``(total, *parts)``, one part per name.
    * ``build_targets(cfg, split) -> targets``: made in the loader (once per source,
      copied into the workers); ``targets.sample(template_crop, search_crop, box, neg,
      rng, search_mask)`` turns one augmented HWC BGR pair into the row (template,
      search, *labels) and may draw from ``rng`` (the sample's own generator, see
      src/data/crop511.py), so rows stay reproducible per sample.
    * ``uses_masks``: whether the loader reads the search frame's mask for the targets
      (``search_mask``; None for negative pairs and sub-datasets without masks).
    * ``label_columns``: the names of the labels after template and search.
    * ``label_bytes(cfg)``: bytes of one row's labels (the loader's shared-memory estimate).
    * ``build_validator(cfg, network, loss_cell) -> f(batches) -> metric dict``: the
      held-out metric over validation batches (dicts of numpy arrays of the columns).
    * ``graphs(cfg) -> tuple of GraphSpec``: the graphs the tracking loop runs, in call order
      (template, search, ...; src/export.py writes them, src/tracker/backends.py runs them).
    * ``decoder(cfg) -> dict``: how an application turns the search outputs into a box (the
      export JSON's ``decoder`` entry, src/export.py; the C++ app picks its logic by its kind).
    * ``crop_rounding``: how the tracker rounds crop corners (export JSON, C++ app).
    * ``input_color(cfg) -> 'BGR' | 'RGB'``: the channel order the graphs expect.
    * ``start_warning(cfg) -> str | None``: said when training starts from scratch.
    * ``config_sections``: ``{"model": cls, "train": cls, "track": cls}``, the family's
      subclasses of src/config.py's ModelConfig, TrainConfig and TrackConfig (with their
      defaults and value checks); a config of this ``model.arch`` is built with them.
    """
    name: str
    build_model: Callable
    build_tracker: Callable
    build_loss: Callable
    build_targets: Callable
    label_columns: Tuple[str, ...]
    label_bytes: Callable
    build_validator: Callable
    graphs: Callable
    decoder: Callable
    uses_masks: bool = False
    crop_rounding: str = "round_half_up"
    input_color: Callable = field(default=lambda cfg: "BGR")
    start_warning: Callable = field(default=lambda cfg: None)
    config_sections: Mapping[str, type] = field(default_factory=dict)


_FAMILIES = {}
_loaded = False


def register(family):
    """Add ``family`` (a :class:`Family`); a second family of the same name is an error."""
    if family.name in _FAMILIES and _FAMILIES[family.name] is not family:
        raise ValueError(f"tracker family '{family.name}' is registered twice")
    _FAMILIES[family.name] = family
    return family


def _load():
    global _loaded
    if not _loaded:
        for module in FAMILY_MODULES:
            importlib.import_module(f"{__package__}.{module}")
        _loaded = True


def families():
    """Names of the registered families, sorted (registration order follows imports)."""
    _load()
    return sorted(_FAMILIES)


def get_family(arch, what="model.arch"):
    """The :class:`Family` named ``arch``; ValueError (one line listing the registered ones)
    for another name. ``what`` names where the name came from in that message."""
    _load()
    family: Optional[Family] = _FAMILIES.get(arch)
    if family is None:
        raise ValueError(f"unknown {what} '{arch}' (choose from {families()})")
    return family

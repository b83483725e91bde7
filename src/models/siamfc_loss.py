"""SiamFC training targets and loss, as huanglianghua/siamfc-pytorch (the golden reference).

Kept beside ``siamfc.py`` (the family's network) rather than in it so that file stays small;
both belong to the SiamFC family. Facts: ../shared/reference/siamfc_sasiam.md section 5.

* Labels (reference ``TrackerSiamFC._create_labels``): on the response grid, with offsets
  ``arange(w) - (w - 1) / 2`` from the centre cell, a cell is 1 where its distance is
  ``<= r_pos / total_stride``, 0.5 where ``< r_neg / total_stride`` (a band the loss ignores),
  else 0. The reference distance is the L1 ("block") distance, r_pos 16, r_neg 0, stride 8:
  13 positives on 15x15 and on 17x17. The map is the same for every pair, because the
  training crops are centred on the target (the reference ignores RandomCrop's <= 4 px
  shift), so it is a constant.
* Loss (reference ``losses.BalancedLoss``): weights 1/n_pos on the label-1 cells and
  neg_weight/n_neg on the label-0 cells, counted over the whole batch tensor, normalised to
  sum 1, then BCE-with-logits summed. With neg_weight 1 that is
  0.5 * mean(BCE over positives) + 0.5 * mean(BCE over negatives). 0.5-band cells weigh 0.

How training uses them (the SiamFC family in siamfc.py, src/models/registry.py)::

    targets = SiamFCTargets.from_config(cfg)      # or SiamFCTargets(response_size=15, ...)
    row = targets.sample(z_crop, x_crop, box, neg, rng)   # loader worker: RGB CHW crops + (1, 15, 15) label
    cell = SiamFCWithLoss(net)                    # (template, search, label) -> (total, logistic)
    # ... or, outside the loader, one constant for every step:
    labels = targets.tensor(batch_size)           # ms.Tensor (B, 1, 15, 15) float32
    loss = BalancedLoss()(net(z, x), labels)      # net(z, x): (B, 1, 15, 15) logits at 127/239

Colour: the crop511 loader gives BGR crops (as OpenCV reads them); the reference and its
released weights see RGB (PIL), as ``SiamFCTracker`` (channel_order 'rgb') feeds them, so
``sample`` flips the channels: a model trained here and a converted release agree with the
tracker's default.

Where the sources disagree (siamfc_sasiam.md section 11):

* ``metric="l2"``: the Euclidean distance of the original MatConvNet SiamFC
  (``create_logisticloss_label.m``) and of the MindSpore model zoo SiamFC (``_create_gt_mask``).
  For the default radius 2 it selects the same 13 cells; it differs for other radii.
* The MatConvNet labels are +-1 for ``log(1 + exp(-y s))``: that is BCE-with-logits with
  label (y + 1) / 2, i.e. the 0/1 map here. SiamFC-TensorFlow and MatConvNet weigh each map
  0.5/n_pos and 0.5/n_neg and average over the batch; since every map has the same counts
  that equals the whole-batch normalisation used here.
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops

from .siamfc import LABEL_METRICS as METRICS, TOTAL_STRIDE

R_POS = 16          # reference cfg r_pos (pixels of the search crop)
R_NEG = 0           # reference cfg r_neg: 0 means no 0.5 band


def label_map(size, r_pos=R_POS, r_neg=R_NEG, total_stride=TOTAL_STRIDE, metric="l1"):
    """The (h, w) float32 label map of a response of ``size`` (int or (h, w)).

    As the reference: offsets and distances in float64, radii in response cells
    (``r / total_stride``), 1 where ``dist <= r_pos``, 0.5 where ``dist < r_neg``, else 0,
    then float32 (``.float()`` in the reference).
    """
    if metric not in METRICS:
        raise ValueError(f"label metric must be one of {METRICS}, got '{metric}'")
    h, w = (size, size) if np.isscalar(size) else size
    x, y = np.meshgrid(np.arange(w) - (w - 1) / 2, np.arange(h) - (h - 1) / 2)
    dist = np.abs(x) + np.abs(y) if metric == "l1" else np.sqrt(x * x + y * y)
    pos, neg = r_pos / total_stride, r_neg / total_stride
    labels = np.where(dist <= pos, 1.0, np.where(dist < neg, 0.5, 0.0))
    return labels.astype(np.float32)


class SiamFCTargets:
    """SiamFC training labels for responses of ``response_size`` (15 at the 239 training crop).

    ``targets(neg=False)`` gives one pair's (1, h, w) float32 map (for the loader workers;
    a new array each call, so a worker may write to it); ``targets.batch(n)`` the
    (n, 1, h, w) numpy batch the reference's ``_create_labels((n, 1, h, w))`` returns, and
    ``targets.tensor(n)`` the same as a MindSpore constant for a train step. A negative pair
    (template and search show different objects; the reference samples none) is all 0.
    No randomness: the map does not depend on the pair, so ``rng`` is accepted and unused.
    """

    def __init__(self, response_size=15, r_pos=R_POS, r_neg=R_NEG, total_stride=TOTAL_STRIDE,
                 metric="l1"):
        self.response_size = response_size
        self.r_pos, self.r_neg, self.total_stride, self.metric = r_pos, r_neg, total_stride, metric
        self.map = label_map(response_size, r_pos, r_neg, total_stride, metric)[None]
        self.map.setflags(write=False)

    @classmethod
    def from_config(cls, cfg):
        """From a Config: the response size is ``train.output_size`` (15 for the 127/239
        pairs of configs/siamfc_alexnet.yaml), the radii and distance ``train.r_pos``,
        ``train.r_neg`` and ``train.label_metric`` (siamfc.SiamFCTrainConfig)."""
        t = cfg.train
        return cls(t.output_size, t.r_pos, t.r_neg, TOTAL_STRIDE, t.label_metric)

    def __call__(self, target_corners=None, neg=False, rng=None):
        """One pair's (1, h, w) labels; the arguments mirror AnchorTarget's call (the box is
        not needed: the training crops centre the target)."""
        if neg:
            return np.zeros_like(self.map)
        return self.map.copy()

    def sample(self, template_crop, search_crop, box=None, neg=False, rng=None, search_mask=None):
        """The loader row (template, search, label): HWC BGR crops -> float32 CHW RGB (see the
        module doc), and this pair's (1, h, w) label map (the family's ``build_targets``)."""
        def rgb_chw(crop):
            return np.ascontiguousarray(crop[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32)
        return rgb_chw(template_crop), rgb_chw(search_crop), self(box, neg, rng)

    def batch(self, n):
        return np.tile(self.map[None], (n, 1, 1, 1))

    def tensor(self, n):
        return ms.Tensor(self.batch(n), ms.float32)


def bce_with_logits(logits, labels):
    """Element-wise ``max(x, 0) - x * t + log(1 + exp(-|x|))``: BCE of sigmoid(x), without
    overflow for large |x| (the form torch's binary_cross_entropy_with_logits computes)."""
    return ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))


class BalancedLoss(nn.Cell):
    """The reference ``BalancedLoss(neg_weight=1.0)``: ``loss(responses, labels) -> scalar``.

    responses: (B, 1, h, w) logits (any float dtype; computed in float32); labels: the same
    shape, from ``SiamFCTargets`` (1 positive, 0 negative, anything else ignored). Weights
    are counted over the whole batch tensor, as the reference does. An empty class (a batch
    of negative pairs only) adds 0, as in the reference, whose 1/0 weight lands on no cell.
    Graph mode: no Python control flow on data; the weights carry no gradient.
    """

    def __init__(self, neg_weight=1.0):
        super().__init__()
        self.neg_weight = float(neg_weight)

    def construct(self, responses, labels):
        x = ops.cast(responses, ms.float32)
        t = ops.cast(labels, ms.float32)
        pos = ops.cast(t == 1.0, ms.float32)
        neg = ops.cast(t == 0.0, ms.float32)
        weight = pos / ops.maximum(pos.sum(), 1.0) + neg * self.neg_weight / ops.maximum(neg.sum(), 1.0)
        weight = ops.stop_gradient(weight / ops.maximum(weight.sum(), 1e-12))
        return (weight * bce_with_logits(x, t)).sum()


class SiamFCWithLoss(nn.Cell):
    """SiamFC + BalancedLoss: ``(template, search, label) -> (total, logistic)``; the one part
    is the total itself (the train step and its log expect ``(total, *parts)``)."""

    def __init__(self, network, neg_weight=1.0):
        # no prefix: parameter names stay the network's, so checkpoints load into it
        super().__init__(auto_prefix=False)
        self.network = network
        self.loss = BalancedLoss(neg_weight)

    def construct(self, template, search, label):
        total = self.loss(self.network(template, search), label)
        return total, total

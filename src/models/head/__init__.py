from .mask import MaskCorr, Refine
from .rpn import DepthwiseRPN, UpChannelRPN

RPN_HEADS = {"depthwise": DepthwiseRPN, "upchannel": UpChannelRPN}


def build_rpn_head(model_cfg, in_channels):
    if model_cfg.head not in RPN_HEADS:
        raise ValueError(f"unknown model.head '{model_cfg.head}' (choose from {sorted(RPN_HEADS)})")
    return RPN_HEADS[model_cfg.head](anchor_num=model_cfg.anchor.num, in_channels=in_channels,
                                     hidden=model_cfg.feature_channels)

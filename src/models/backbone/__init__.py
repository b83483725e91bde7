from .alexnet import AlexNet

BACKBONES = {"alexnet": AlexNet}


def build_backbone(model_cfg):
    if model_cfg.backbone not in BACKBONES:
        raise ValueError(f"unknown model.backbone '{model_cfg.backbone}' (choose from {sorted(BACKBONES)})")
    return BACKBONES[model_cfg.backbone](width_mult=model_cfg.width_mult)

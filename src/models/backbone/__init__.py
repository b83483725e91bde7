from .alexnet import AlexNet
from .resnet import ResNet50

# name -> constructor taking the model config
BACKBONES = {
    "alexnet": lambda model_cfg: AlexNet(width_mult=model_cfg.width_mult),
    "resnet50": lambda model_cfg: ResNet50(),   # SiamMask: to layer3, returns (f0, f1, f2, f3)
}


def build_backbone(model_cfg):
    if model_cfg.backbone not in BACKBONES:
        raise ValueError(f"unknown model.backbone '{model_cfg.backbone}' (choose from {sorted(BACKBONES)})")
    return BACKBONES[model_cfg.backbone](model_cfg)

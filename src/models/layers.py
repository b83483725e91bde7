"""Small layer constructors with PyTorch-like defaults.

MindSpore's ``nn.Conv2d`` defaults to 'same' padding and no bias; the reference
networks use explicit zero padding and biases, so every conv is built here.
BatchNorm uses PyTorch's eps and momentum (PyTorch 0.1 == MindSpore 0.9).
"""
from mindspore import nn


def conv2d(in_ch, out_ch, kernel_size, stride=1, padding=0, dilation=1, bias=True, group=1):
    pad_mode = "pad" if padding else "valid"
    return nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, pad_mode=pad_mode,
                     padding=padding, dilation=dilation, has_bias=bias, group=group,
                     weight_init="HeUniform", bias_init="zeros" if bias else None)


def batch_norm(num_features):
    return nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.9)

"""AlexNet backbone of SiamRPN (pysot ``AlexNetLegacy``): no padding anywhere.

127 -> 6x6x256, 255 -> 22x22x256. The five stages are separate cells
(``layer1``..``layer5``) so training can freeze and unfreeze them by name;
pysot's flat ``features.N`` keys map onto them in src/tools/convert_pth.py.
"""
from mindspore import nn

from ..layers import batch_norm, conv2d

CHANNELS = (3, 96, 256, 384, 384, 256)


class AlexNet(nn.Cell):
    def __init__(self, width_mult=1.0):
        super().__init__()
        c = [CHANNELS[0]] + [int(ch * width_mult) for ch in CHANNELS[1:]]
        self.out_channels = c[5]
        self.layer1 = nn.SequentialCell([conv2d(c[0], c[1], 11, stride=2), batch_norm(c[1]),
                                         nn.MaxPool2d(3, 2, pad_mode="valid"), nn.ReLU()])
        self.layer2 = nn.SequentialCell([conv2d(c[1], c[2], 5), batch_norm(c[2]),
                                         nn.MaxPool2d(3, 2, pad_mode="valid"), nn.ReLU()])
        self.layer3 = nn.SequentialCell([conv2d(c[2], c[3], 3), batch_norm(c[3]), nn.ReLU()])
        self.layer4 = nn.SequentialCell([conv2d(c[3], c[4], 3), batch_norm(c[4]), nn.ReLU()])
        self.layer5 = nn.SequentialCell([conv2d(c[4], c[5], 3), batch_norm(c[5])])

    def construct(self, x):
        return self.layer5(self.layer4(self.layer3(self.layer2(self.layer1(x)))))

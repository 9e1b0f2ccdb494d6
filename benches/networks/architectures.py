"""Full-size ImageNet CNNs at 224×224, one function per architecture, layer shapes as published.

Each function takes a GraphBuilder and returns the name of the network's output value. To add a
network, write its function here and add it to REGISTRY with a description and the opset it needs.
"""

from dataclasses import dataclass
from typing import Callable

from builder import GAMMA, GAMMA_BRANCH_END


# -- ResNet (He et al. 2015; torchvision's v1.5: the bottleneck strides on its 3×3 conv) --------

def _resnet_stem(g):
    x = g.relu(g.conv(g.input_name, 64, 7, stride=2))
    return g.maxpool(x, 3, 2, pads=[1, 1, 1, 1])


def _shortcut(g, x, cout, stride):
    if stride == 1 and g.channels[x] == cout:
        return x
    return g.conv(x, cout, 1, stride=stride, pads=[0, 0, 0, 0], prefix="down")


def _basic_block(g, x, width, stride):
    y = g.relu(g.conv(x, width, 3, stride=stride))
    y = g.conv(y, width, 3, gamma=GAMMA_BRANCH_END)
    return g.relu(g.add(y, _shortcut(g, x, width, stride)))


def _bottleneck(g, x, width, stride):
    y = g.relu(g.conv(x, width, 1, pads=[0, 0, 0, 0]))
    y = g.relu(g.conv(y, width, 3, stride=stride))
    y = g.conv(y, width * 4, 1, pads=[0, 0, 0, 0], gamma=GAMMA_BRANCH_END)
    return g.relu(g.add(y, _shortcut(g, x, width * 4, stride)))


def _resnet(g, block, depths):
    x = _resnet_stem(g)
    for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), depths)):
        for i in range(depth):
            x = block(g, x, width, 2 if i == 0 and stage > 0 else 1)
    return g.gemm(g.flatten(g.global_avgpool(x)), 1000)


def resnet18(g):
    return _resnet(g, _basic_block, (2, 2, 2, 2))


def resnet50(g):
    return _resnet(g, _bottleneck, (3, 4, 6, 3))


# -- MobileNetV2 (Sandler et al. 2018), width 1.0 -------------------------------------------------

def _inverted_residual(g, x, hidden, cout, stride, k=3, act="relu6", pads=None, se=None):
    """Expand 1×1 to `hidden` channels (none when already there) → depthwise k×k →
    (squeeze-excite) → project 1×1 to `cout`, identity add when stride and width allow."""
    cin = g.channels[x]
    y = x
    if hidden != cin:
        y = g.act(g.conv(y, hidden, 1, pads=[0, 0, 0, 0]), act)
    y = g.act(g.conv(y, hidden, k, stride=stride, group=hidden, pads=pads), act)
    if se is not None:
        y = se(g, y)
    residual = stride == 1 and cin == cout
    y = g.conv(y, cout, 1, pads=[0, 0, 0, 0], gamma=GAMMA_BRANCH_END if residual else GAMMA)
    return g.add(y, x) if residual else y


def mobilenetv2(g):
    x = g.relu6(g.conv(g.input_name, 32, 3, stride=2))
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            x = _inverted_residual(g, x, g.channels[x] * t, c, s if i == 0 else 1)
    x = g.relu6(g.conv(x, 1280, 1, pads=[0, 0, 0, 0]))
    return g.gemm(g.flatten(g.global_avgpool(x)), 1000)


# -- MobileNetV3-Large (Howard et al. 2019), as torchvision's mobilenet_v3_large -------------------

def _make_divisible(v, divisor=8):
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _squeeze_excite(g, x):
    c = g.channels[x]
    s = g.global_avgpool(x)
    s = g.relu(g.conv(s, _make_divisible(c // 4), 1, pads=[0, 0, 0, 0], bn=False, prefix="se_reduce"))
    s = g.hardsigmoid(g.conv(s, c, 1, pads=[0, 0, 0, 0], bn=False, prefix="se_expand"))
    return g.mul(x, s)


def mobilenetv3(g):
    x = g.hardswish(g.conv(g.input_name, 16, 3, stride=2))
    # kernel, expanded width, out, squeeze-excite, activation, stride
    for k, exp, out, se, act, s in (
            (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
            (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
            (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1),
            (3, 184, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
            (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1),
            (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1),
            (5, 960, 160, True, "hswish", 1)):
        x = _inverted_residual(g, x, exp, out, s, k=k, act=act, se=_squeeze_excite if se else None)
    x = g.hardswish(g.conv(x, 960, 1, pads=[0, 0, 0, 0]))
    x = g.hardswish(g.gemm(g.flatten(g.global_avgpool(x)), 1280, prefix="fc_head"))
    return g.gemm(x, 1000)


# -- EfficientNet-Lite0 (TF's efficientnet-lite: EfficientNet-B0 without squeeze-excite, ReLU6,
#    stem and head not scaled) ---------------------------------------------------------------------

def _same_pads(size, k, stride):
    """TF 'SAME' padding as explicit ONNX pads [top, left, bottom, right] (extra pixel at the end)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return [total // 2, total // 2, total - total // 2, total - total // 2]


def efficientnet_lite0(g):
    size = g.input_shape[2]  # square inputs
    x = g.relu6(g.conv(g.input_name, 32, 3, stride=2, pads=_same_pads(size, 3, 2)))
    size //= 2
    for e, k, s, c, n in ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            x = _inverted_residual(g, x, g.channels[x] * e, c, stride, k=k, pads=_same_pads(size, k, stride))
            size = -(-size // stride)
    x = g.relu6(g.conv(x, 1280, 1, pads=[0, 0, 0, 0]))
    return g.gemm(g.flatten(g.global_avgpool(x)), 1000)


# -- GoogLeNet / Inception v1 (Szegedy et al. 2014, Table 1; the 5×5 branch is 5×5 as in the
#    paper, where torchvision has 3×3; ceil-mode pools as torchvision; LRN and aux heads omitted) --

def _inception(g, x, c1, c3r, c3, c5r, c5, pp):
    b1 = g.relu(g.conv(x, c1, 1, pads=[0, 0, 0, 0]))
    b2 = g.relu(g.conv(g.relu(g.conv(x, c3r, 1, pads=[0, 0, 0, 0])), c3, 3))
    b3 = g.relu(g.conv(g.relu(g.conv(x, c5r, 1, pads=[0, 0, 0, 0])), c5, 5))
    b4 = g.relu(g.conv(g.maxpool(x, 3, 1, pads=[1, 1, 1, 1], ceil=True), pp, 1, pads=[0, 0, 0, 0]))
    return g.concat([b1, b2, b3, b4])


def googlenet(g):
    x = g.relu(g.conv(g.input_name, 64, 7, stride=2))
    x = g.maxpool(x, 3, 2, ceil=True)
    x = g.relu(g.conv(x, 64, 1, pads=[0, 0, 0, 0]))
    x = g.relu(g.conv(x, 192, 3))
    x = g.maxpool(x, 3, 2, ceil=True)
    x = _inception(g, x, 64, 96, 128, 16, 32, 32)       # 3a
    x = _inception(g, x, 128, 128, 192, 32, 96, 64)     # 3b
    x = g.maxpool(x, 3, 2, ceil=True)
    x = _inception(g, x, 192, 96, 208, 16, 48, 64)      # 4a
    x = _inception(g, x, 160, 112, 224, 24, 64, 64)     # 4b
    x = _inception(g, x, 128, 128, 256, 24, 64, 64)     # 4c
    x = _inception(g, x, 112, 144, 288, 32, 64, 64)     # 4d
    x = _inception(g, x, 256, 160, 320, 32, 128, 128)   # 4e
    x = g.maxpool(x, 3, 2, ceil=True)
    x = _inception(g, x, 256, 160, 320, 32, 128, 128)   # 5a
    x = _inception(g, x, 384, 192, 384, 48, 128, 128)   # 5b
    return g.gemm(g.flatten(g.global_avgpool(x)), 1000)


# -- SqueezeNet 1.1 (Iandola et al. 2016; the 1.1 variant of the reference repository) -------------

def _fire(g, x, squeeze, expand):
    s = g.relu(g.conv(x, squeeze, 1, pads=[0, 0, 0, 0], bn=False))
    e1 = g.relu(g.conv(s, expand, 1, pads=[0, 0, 0, 0], bn=False))
    e3 = g.relu(g.conv(s, expand, 3, bn=False))
    return g.concat([e1, e3])


def squeezenet(g):
    # SqueezeNet has no BatchNorm: plain He-normal convs with a bias.
    x = g.relu(g.conv(g.input_name, 64, 3, stride=2, pads=[0, 0, 0, 0], bn=False))
    x = g.maxpool(x, 3, 2, ceil=True)
    x = _fire(g, x, 16, 64)
    x = _fire(g, x, 16, 64)
    x = g.maxpool(x, 3, 2, ceil=True)
    x = _fire(g, x, 32, 128)
    x = _fire(g, x, 32, 128)
    x = g.maxpool(x, 3, 2, ceil=True)
    x = _fire(g, x, 48, 192)
    x = _fire(g, x, 48, 192)
    x = _fire(g, x, 64, 256)
    x = _fire(g, x, 64, 256)
    x = g.relu(g.conv(x, 1000, 1, pads=[0, 0, 0, 0], bn=False, prefix="classifier"))
    return g.flatten(g.global_avgpool(x))


# -- the registry -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Network:
    build: Callable
    description: str
    opset: int = 13
    input_shape: tuple = (1, 3, 224, 224)


REGISTRY = {
    "resnet50": Network(
        resnet50, "ResNet-50 v1.5 (bottleneck [3,4,6,3], stride on the 3×3 conv), 224×224, 1000 classes"),
    "resnet18": Network(
        resnet18, "ResNet-18 (basic blocks [2,2,2,2], 1×1 projection shortcuts), 224×224, 1000 classes"),
    "mobilenetv2": Network(
        mobilenetv2, "MobileNetV2 1.0 (inverted residuals, ReLU6 as Clip(0,6), 1280 head), 224×224"),
    "mobilenetv3": Network(
        mobilenetv3, "MobileNetV3-Large 1.0 as torchvision (HardSwish, squeeze-excite with HardSigmoid, "
                     "960→1280→1000 head), 224×224", opset=14),
    "efficientnet_lite0": Network(
        efficientnet_lite0, "EfficientNet-Lite0 (MBConv 3×3/5×5, ReLU6, no SE, TF-SAME padding as explicit "
                            "asymmetric pads), 224×224"),
    "googlenet": Network(
        googlenet, "GoogLeNet / Inception v1 (the paper's 5×5 branch, ceil-mode pools, no LRN, no aux heads), "
                   "224×224"),
    "squeezenet": Network(
        squeezenet, "SqueezeNet 1.1 (fire modules, ceil-mode pools, conv classifier + GAP), 224×224"),
}

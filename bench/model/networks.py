"""The convolution layers of the two networks the model totals, and the sweep's layer shapes.

MobileNetV2-w0.35 comes from the project's paper-models.json (the Java model zoo's resource: first
conv, inverted-residual blocks, feature mix); ResNet-18 is torchvision's (7x7/2 stem, max pool,
four stages of two basic blocks, 1x1/2 downsamples). Both at 128x128 input; the classifier (a
linear layer) is not a convolution and is left out of the totals.
"""
import dataclasses
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAPER_MODELS = os.path.join(ROOT, 'java', 'src', 'main', 'resources', 'io', 'trady4j', 'models', 'paper-models.json')

RESOLUTION = 128
MBV2_BATCH = 128
RESNET_BATCH = 32


@dataclasses.dataclass(frozen=True)
class Conv:
    """One convolution; height/width are its INPUT spatial size (the sweep contract's convention)."""
    layer: str
    network: str
    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel: int
    stride: int
    padding: int
    groups: int = 1

    @property
    def out_height(self):
        return (self.height + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_width(self):
        return (self.width + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def cg(self):
        return self.in_channels // self.groups

    @property
    def mg(self):
        return self.out_channels // self.groups

    @property
    def k2(self):
        return self.kernel * self.kernel

    @property
    def hw(self):
        return self.height * self.width

    @property
    def hwo(self):
        return self.out_height * self.out_width

    @property
    def depthwise(self):
        return self.cg == 1 and self.mg == 1

    def as_json(self):
        return {'layer': self.layer, 'network': self.network, 'batch': self.batch,
                'in_channels': self.in_channels, 'out_channels': self.out_channels, 'height': self.height,
                'width': self.width, 'kernel': self.kernel, 'stride': self.stride, 'padding': self.padding,
                'groups': self.groups}

    @staticmethod
    def from_json(d):
        return Conv(d['layer'], d['network'], d['batch'], d['in_channels'], d['out_channels'], d['height'],
                    d['width'], d['kernel'], d['stride'], d['padding'], d.get('groups', 1))


def mbv2(path=PAPER_MODELS, batch=MBV2_BATCH, res=RESOLUTION):
    net = 'mbv2-w0.35'
    with open(path) as f:
        desc = json.load(f)[net]
    layers = []
    c, size = desc['in_ch'], res
    out0, k0, s0 = desc['first_conv']
    layers.append(Conv('mbv2.first', net, batch, c, out0, size, size, k0, s0, k0 // 2))
    c, size = out0, layers[-1].out_height
    for i, (expand, k, s, out, _residual) in enumerate(desc['blocks']):
        name = 'mbv2.b%02d' % i
        mid = c * expand
        if expand > 1:
            layers.append(Conv(name + '.expand', net, batch, c, mid, size, size, 1, 1, 0))
        dw = Conv(name + '.dw', net, batch, mid, mid, size, size, k, s, k // 2, groups=mid)
        layers.append(dw)
        size = dw.out_height
        layers.append(Conv(name + '.project', net, batch, mid, out, size, size, 1, 1, 0))
        c = out
    if desc.get('feature_mix'):
        layers.append(Conv('mbv2.mix', net, batch, c, desc['feature_mix'], size, size, 1, 1, 0))
    return layers


def resnet18(batch=RESNET_BATCH, res=RESOLUTION):
    net = 'resnet18'
    layers = [Conv('resnet18.conv1', net, batch, 3, 64, res, res, 7, 2, 3)]
    size = layers[0].out_height // 2  # 3x3/2 max pool
    c = 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            s = 2 if stage > 1 and block == 0 else 1
            name = 'resnet18.layer%d.%d' % (stage, block)
            layers.append(Conv(name + '.conv1', net, batch, c, width, size, size, 3, s, 1))
            out = layers[-1].out_height
            layers.append(Conv(name + '.conv2', net, batch, width, width, out, out, 3, 1, 1))
            if s != 1 or c != width:
                layers.append(Conv(name + '.downsample', net, batch, c, width, size, size, 1, s, 0))
            c, size = width, out
    return layers


def networks():
    return {'mbv2-w0.35': mbv2(), 'resnet18': resnet18()}


# The sweep's shapes (bench/model/shapes.json, read by bench/gpu): one layer per class. The same 14
# layers, in the same order, as the sweep helper proposed (so both branches carry one file).
SWEEP_LAYERS = [
    'mbv2.first',                    # 3->16 3x3/2 @128
    'mbv2.b01.expand',               # 1x1 8->48 @64
    'mbv2.b01.dw',                   # depthwise 48 3x3/2 @64
    'mbv2.b02.dw',                   # depthwise 48 3x3/1 @32
    'mbv2.b02.project',              # 1x1 48->8 @32
    'mbv2.b04.expand',               # 1x1 16->96 @16
    'mbv2.b07.project',              # 1x1 144->24 @8
    'mbv2.b14.expand',               # 1x1 56->336 @4
    'mbv2.mix',                      # the last 1x1, 112->448 @4
    'resnet18.layer1.0.conv1',       # 3x3 64 @32
    'resnet18.layer2.0.downsample',  # 1x1/2 64->128 @32
    'resnet18.layer2.0.conv2',       # 3x3 128 @16
    'resnet18.layer3.0.conv2',       # 3x3 256 @8
    'resnet18.layer4.0.conv2',       # 3x3 512 @4
]


def shapes_json(shapes):
    """The contract's file: one shape per line."""
    return '{"shapes": [\n' + ',\n'.join('  ' + json.dumps(s.as_json()) for s in shapes) + '\n]}\n'


def sweep_shapes():
    by_name = {l.layer: l for layers in networks().values() for l in layers}
    return [by_name[n] for n in SWEEP_LAYERS]

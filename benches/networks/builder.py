"""A small float ONNX graph builder with seeded, trained-looking weights.

Every convolution is built as a trained network looks after BatchNorm folding: He-normal weights
(std = sqrt(2 / fan_in)), then each output channel multiplied by its own factor gamma/sqrt(var)
drawn uniformly from GAMMA (so per-channel weight scales differ, which is what per-channel
quantization is for), plus a folded bias beta - mean*gamma/sqrt(var) drawn from N(0, 0.1²).
The builder tracks each value's channel count, so an architecture names only output widths.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# BatchNorm factor range of an ordinary conv, and of the last conv of a residual branch: trained
# residual networks have small gammas there (the branch adds a correction to the identity), and
# without them the activations double in variance at every block.
GAMMA = (0.5, 1.5)
GAMMA_BRANCH_END = (0.1, 0.5)
BIAS_STD = 0.1


class GraphBuilder:
    def __init__(self, name, seed, opset, ir_version, input_shape=(1, 3, 224, 224)):
        self.name = name
        self.opset = opset
        self.ir_version = ir_version
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.channels = {}
        self.count = 0
        self.input_name = "input"
        self.input_shape = list(input_shape)
        self.channels[self.input_name] = input_shape[1]

    # -- plumbing ---------------------------------------------------------------------------

    def _fresh(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def _const(self, array, prefix):
        name = self._fresh(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def _node(self, op, inputs, channels, prefix=None, **attrs):
        out = self._fresh(prefix or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        self.channels[out] = channels
        return out

    # -- layers -----------------------------------------------------------------------------

    def conv(self, x, cout, k, stride=1, pads=None, group=1, gamma=GAMMA, bn=True, prefix="conv"):
        """Conv k×k with BatchNorm folded in (factors from `gamma`; bn=False: a plain conv with
        bias, as SqueezeNet's and squeeze-excite's); `pads` defaults to k//2 on every side."""
        cin = self.channels[x]
        if pads is None:
            pads = [k // 2] * 4
        fan_in = (cin // group) * k * k
        w = self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan_in)
        if bn:
            w *= self.rng.uniform(*gamma, size=(cout, 1, 1, 1))
        b = self.rng.normal(0.0, BIAS_STD, size=cout)
        return self._node("Conv", [x, self._const(w.astype(np.float32), prefix + "_w"),
                                   self._const(b.astype(np.float32), prefix + "_b")],
                          cout, prefix, kernel_shape=[k, k], strides=[stride, stride], pads=list(pads),
                          group=group, dilations=[1, 1])

    def gemm(self, x, cout, prefix="fc"):
        """Fully connected layer, weights stored [cout, cin] (transB=1) as PyTorch exports it."""
        cin = self.channels[x]
        w = self.rng.standard_normal((cout, cin)) * np.sqrt(1.0 / cin)
        b = self.rng.normal(0.0, 0.01, size=cout)
        return self._node("Gemm", [x, self._const(w.astype(np.float32), prefix + "_w"),
                                   self._const(b.astype(np.float32), prefix + "_b")],
                          cout, prefix, alpha=1.0, beta=1.0, transB=1)

    def relu(self, x):
        return self._node("Relu", [x], self.channels[x])

    def relu6(self, x):
        """ReLU6 as Clip(0, 6) with the bounds as constant inputs (opset ≥ 11)."""
        lo = self._const(np.float32(0.0), "clip_min")
        hi = self._const(np.float32(6.0), "clip_max")
        return self._node("Clip", [x, lo, hi], self.channels[x], "relu6")

    def hardswish(self, x):
        return self._node("HardSwish", [x], self.channels[x])

    def hardsigmoid(self, x):
        """PyTorch's Hardsigmoid, relu6(x + 3) / 6 (ONNX's default alpha is 0.2, not 1/6)."""
        return self._node("HardSigmoid", [x], self.channels[x], alpha=1.0 / 6.0, beta=0.5)

    def act(self, x, kind):
        return {"relu": self.relu, "relu6": self.relu6, "hswish": self.hardswish, None: lambda v: v}[kind](x)

    def add(self, a, b):
        return self._node("Add", [a, b], self.channels[a])

    def mul(self, a, b):
        return self._node("Mul", [a, b], self.channels[a])

    def concat(self, xs):
        return self._node("Concat", list(xs), sum(self.channels[x] for x in xs), axis=1)

    def maxpool(self, x, k, stride, pads=(0, 0, 0, 0), ceil=False):
        return self._node("MaxPool", [x], self.channels[x], kernel_shape=[k, k], strides=[stride, stride],
                          pads=list(pads), ceil_mode=int(ceil))

    def global_avgpool(self, x):
        return self._node("GlobalAveragePool", [x], self.channels[x], "gap")

    def flatten(self, x):
        return self._node("Flatten", [x], self.channels[x], axis=1)

    # -- result -----------------------------------------------------------------------------

    def model(self, output, output_name="logits"):
        """The ModelProto with `output`, renamed `output_name`, as its only graph output, shapes
        inferred and checked."""
        for n in self.nodes:
            for values in (n.input, n.output):
                for i, v in enumerate(values):
                    if v == output:
                        values[i] = output_name
        output = output_name
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, self.input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
            initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                  producer_name="qnn benches/networks/generate.py")
        model.ir_version = self.ir_version
        model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        # Give the graph output its inferred shape, so consumers see [1, 1000] rather than '?'.
        inferred = {v.name: v for v in model.graph.value_info}
        if output in inferred:
            model.graph.output[0].CopyFrom(inferred[output])
            model.graph.value_info.remove(inferred[output])
        onnx.checker.check_model(model, full_check=True)
        return model

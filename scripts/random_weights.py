"""Seeded random weights for models whose weights are ConstantOfShape nodes (the onnx wheel's
"light" models), so that their outputs depend on the input.

Shared by make-reference-outputs.py (the runtime's references) and make-backend-references.py (the
backend's), which must draw the same weights for the same seed.
"""
import numpy as np
from onnx import numpy_helper


def random_weight(shape, consumer, index, rng):
    """A random tensor for input `index` of node `consumer`, scaled for that role."""
    shape = [int(d) for d in shape]
    if consumer is not None and consumer.op_type == "BatchNormalization" and index > 0:
        if index in (1, 4):  # scale, variance
            return rng.uniform(0.5, 1.5, shape)
        return rng.normal(0, 0.1, shape)  # bias, mean
    if consumer is not None and consumer.op_type in ("Conv", "Gemm", "MatMul") and index == 1 and len(shape) >= 2:
        fan_in = int(np.prod(shape)) // shape[0]
        if consumer.op_type == "Gemm" and not any(a.name == "transB" and a.i == 1 for a in consumer.attribute):
            fan_in = shape[0]
        return rng.normal(0, np.sqrt(2 / max(fan_in, 1)), shape)
    return rng.normal(0, 0.01 if len(shape) == 1 else 0.1, shape)


def randomize_constant_weights(model, rng):
    """Replaces ConstantOfShape nodes whose shape is an initializer by random initializers."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    consumers = {}
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            consumers.setdefault(name, (node, i))
    kept = []
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input and node.input[0] in inits:
            consumer, index = consumers.get(node.output[0], (None, 0))
            value = random_weight(inits[node.input[0]], consumer, index, rng).astype(np.float32)
            model.graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return model

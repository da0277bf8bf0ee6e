#!/usr/bin/env python3
"""make-decoder-fixtures.py: write the small ONNX files ProtoDecoderTests decodes.

Writes into Tests/ONNXTests/Fixtures/decode/:
  tensors/<dtype>_raw.pb, tensors/<dtype>_typed.pb   one TensorProto per dtype, data in raw_data
                                                    and in the typed field (float_data, int32_data...)
  tensors/expected.txt                              file<TAB>dtype code<TAB>dims<TAB>values; floats
                                                    as float32 bit patterns so NaN/-0 compare exactly
  attributes.onnx                                   one node with every attribute kind, symbolic dims,
                                                    two opset domains, a Constant with a tensor
  external/model.onnx + external/weights.bin        initializers saved as external data (one file,
                                                    several offsets/lengths)
Run with the repo's python that has onnx and numpy:  .venv/bin/python scripts/make-decoder-fixtures.py
The outputs are committed; rerunning must reproduce them byte for byte.
"""
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ONNXTests", "Fixtures", "decode")

# float16 bit patterns: ±0, 1, -2.5, max 65504, min normal, min/max subnormal, -subnormal, ±inf, NaN.
HALF_BITS = [0x0000, 0x8000, 0x3C00, 0xC100, 0x7BFF, 0x0400, 0x0001, 0x03FF, 0x8001, 0x7C00, 0xFC00, 0x7E00]
# bfloat16 bit patterns: 0, 1, -2, 3.140625, large, smallest subnormal, ±inf, NaN.
BF16_BITS = [0x0000, 0x3F80, 0xC000, 0x4049, 0x7F7F, 0x0001, 0x7F80, 0xFF80, 0x7FC0]

INT_VALUES = {
    TensorProto.INT8: ("int8", [-128, -1, 0, 1, 127, 42]),
    TensorProto.UINT8: ("uint8", [0, 1, 128, 255, 7, 200]),
    TensorProto.INT16: ("int16", [-32768, -1, 0, 1, 32767, 1234]),
    TensorProto.UINT16: ("uint16", [0, 1, 32768, 65535, 9, 40000]),
    TensorProto.INT32: ("int32", [-(2**31), -1, 0, 1, 2**31 - 1, 77]),
    TensorProto.INT64: ("int64", [-(2**63), -1, 0, 1, 2**63 - 1, 5]),
    TensorProto.UINT32: ("uint32", [0, 1, 2**31, 2**32 - 1, 3, 4]),
    TensorProto.UINT64: ("uint64", [0, 1, 2**32, 2**63 - 1, 3, 4]),
    TensorProto.BOOL: ("bool", [1, 0, 0, 1, 1, 0]),
}


def f32_bits(values):
    return ["0x%08x" % b for b in np.asarray(values, dtype=np.float32).view(np.uint32).tolist()]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def tensor(name, dtype, dims):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    return t


def make_tensors(expected):
    d = os.path.join(OUT, "tensors")

    def emit(fname, t, values):
        write(os.path.join(d, fname), t.SerializeToString())
        expected.append("%s\t%d\t%s\t%s" % (fname, t.data_type, ",".join(map(str, t.dims)), " ".join(values)))

    f32 = np.array([0.0, -0.0, 1.5, -3.25, 1e-40, np.inf, -np.inf, np.nan], dtype=np.float32)
    t = tensor("f32_raw", TensorProto.FLOAT, [2, 4]); t.raw_data = f32.tobytes()
    emit("float32_raw.pb", t, f32_bits(f32))
    t = tensor("f32_typed", TensorProto.FLOAT, [2, 4]); t.float_data.extend(f32.tolist())
    emit("float32_typed.pb", t, f32_bits(f32))

    # 1e300 overflows float32 to inf on purpose; 3e-39 becomes a float32 subnormal.
    f64 = np.array([0.1, -2.0, 1e300, 3.0e-39, 65504.0, -1e-5], dtype=np.float64)
    with np.errstate(over="ignore"):
        f64_as_f32 = f64.astype(np.float32)
    t = tensor("f64_raw", TensorProto.DOUBLE, [3, 2]); t.raw_data = f64.tobytes()
    emit("double_raw.pb", t, f32_bits(f64_as_f32))
    t = tensor("f64_typed", TensorProto.DOUBLE, [3, 2]); t.double_data.extend(f64.tolist())
    emit("double_typed.pb", t, f32_bits(f64_as_f32))

    half = np.array(HALF_BITS, dtype=np.uint16)
    half_as_f32 = half.view(np.float16).astype(np.float32)
    t = tensor("f16_raw", TensorProto.FLOAT16, [3, 4]); t.raw_data = half.tobytes()
    emit("float16_raw.pb", t, f32_bits(half_as_f32))
    t = tensor("f16_typed", TensorProto.FLOAT16, [3, 4]); t.int32_data.extend(HALF_BITS)
    emit("float16_typed.pb", t, f32_bits(half_as_f32))

    bf = np.array(BF16_BITS, dtype=np.uint16)
    bf_as_f32 = (bf.astype(np.uint32) << 16).view(np.float32)
    t = tensor("bf16_raw", TensorProto.BFLOAT16, [9]); t.raw_data = bf.tobytes()
    emit("bfloat16_raw.pb", t, f32_bits(bf_as_f32))
    t = tensor("bf16_typed", TensorProto.BFLOAT16, [9]); t.int32_data.extend(BF16_BITS)
    emit("bfloat16_typed.pb", t, f32_bits(bf_as_f32))

    for code, (name, values) in INT_VALUES.items():
        np_type = helper.tensor_dtype_to_np_dtype(code)
        t = tensor(name + "_raw", code, [2, 3]); t.raw_data = np.array(values, dtype=np_type).tobytes()
        emit(name + "_raw.pb", t, [str(v) for v in values])
        t = tensor(name + "_typed", code, [2, 3])
        if code == TensorProto.INT64:
            t.int64_data.extend(values)
        elif code in (TensorProto.UINT32, TensorProto.UINT64):
            t.uint64_data.extend(values)
        else:
            t.int32_data.extend(values)
        emit(name + "_typed.pb", t, [str(v) for v in values])

    # Shapes at the edges: a scalar (dims []) and an empty tensor (a zero dimension, no data).
    t = tensor("scalar", TensorProto.INT64, []); t.int64_data.append(-7)
    emit("scalar_int64.pb", t, ["-7"])
    t = tensor("empty", TensorProto.FLOAT, [0, 3])
    emit("empty_float32.pb", t, [])


def make_attributes_model():
    value = helper.make_tensor("const_value", TensorProto.FLOAT, [2], [0.5, -1.0])
    const = helper.make_node("Constant", [], ["c"], name="const0", value=value)
    sub = helper.make_graph([helper.make_node("Identity", ["a"], ["b"])], "sub", [], [])
    custom = helper.make_node(
        "Custom", ["x", "", "c"], ["y", "z"], name="custom0", domain="test.domain",
        f=1.5, i=-3, s="hello", floats=[0.25, 2.0], ints=[1, -2, 3], strings=["a", "bc"],
        t=helper.make_tensor("t", TensorProto.INT64, [3], [4, 5, 6]), g=sub)
    # An empty list has no type to infer; give it one.
    custom.attribute.append(helper.make_attribute("empty_ints", [], attr_type=onnx.AttributeProto.INTS))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, None, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, [1, 2])
    z = helper.make_tensor_value_info("z", TensorProto.INT64, None)
    graph = helper.make_graph([const, custom], "attributes", [x], [y, z])
    model = helper.make_model(
        graph, producer_name="s2dc-fixtures",
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("test.domain", 2)])
    model.ir_version = 8
    write(os.path.join(OUT, "attributes.onnx"), model.SerializeToString())


def make_external_model():
    d = os.path.join(OUT, "external")
    os.makedirs(d, exist_ok=True)
    for f in ("model.onnx", "weights.bin"):
        if os.path.exists(os.path.join(d, f)):
            os.remove(os.path.join(d, f))  # onnx.save appends to an existing weights file
    w = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3.0
    b = np.array([1.0, -1.0, 0.5], dtype=np.float32)
    shape = np.array([4, 6], dtype=np.int64)
    h = np.array(HALF_BITS[:4], dtype=np.uint16).view(np.float16)
    inits = [
        onnx.numpy_helper.from_array(w, "w"),
        onnx.numpy_helper.from_array(b, "b"),
        onnx.numpy_helper.from_array(shape, "shape"),
        onnx.numpy_helper.from_array(h, "h"),
    ]
    nodes = [helper.make_node("Reshape", ["w", "shape"], ["r"], name="reshape0")]
    graph = helper.make_graph(
        nodes, "external", [], [helper.make_tensor_value_info("r", TensorProto.FLOAT, [4, 6])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="s2dc-fixtures")
    model.ir_version = 8
    onnx.save(model, os.path.join(d, "model.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)


def main():
    expected = []
    make_tensors(expected)
    write(os.path.join(OUT, "tensors", "expected.txt"), ("\n".join(expected) + "\n").encode())
    make_attributes_model()
    make_external_model()
    print("wrote fixtures under", os.path.relpath(OUT, ROOT))


if __name__ == "__main__":
    main()

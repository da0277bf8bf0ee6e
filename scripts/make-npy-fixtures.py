#!/usr/bin/env python3
"""make-npy-fixtures.py: write the small NPY/NPZ files the runtime's NPY tests read.

Writes into Tests/RuntimeTests/Fixtures/npy/:
  good/*.npy, good/*.npz    files written by NumPy itself (np.save, np.savez, np.savez_compressed,
                            np.lib.format.write_array for format versions 2.0 and 3.0); their
                            contents follow the formulas in good/expected.txt
  bad/*                     malformed or unsupported files, with bad/expected-errors.txt naming the
                            substring each error message must contain
Run with the repo's python that has numpy:  .venv/bin/python scripts/make-npy-fixtures.py
The outputs are committed; rerunning reproduces them (np.savez writes the current time into the
ZIP headers, so only the NPZ files change).
"""
import io
import os
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "RuntimeTests", "Fixtures", "npy")


def arrays():
    """The good arrays by name; expected.txt restates them for the Swift side."""
    return {
        "f32": (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 4 - 1),
        "u8": np.arange(250, 260, dtype=np.int64).astype(np.uint8).reshape(2, 5),
        "i64": np.array([-3, 0, 2**40, -(2**62)], dtype=np.int64),
        "scalar": np.array(3.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "special": np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45], dtype=np.float32),
    }


EXPECTED = """# name<TAB>dtype<TAB>shape<TAB>values (comma separated; floats as Python prints them)
f32\tfloat32\t2,3,4\tk/4-1 for k in 0..23
u8\tuint8\t2,5\t250,251,252,253,254,255,0,1,2,3
i64\tint64\t4\t-3,0,1099511627776,-4611686018427387904
scalar\tfloat32\t\t3.5
empty\tfloat32\t0,3\t
special\tfloat32\t5\tnan,inf,-inf,-0.0,1e-45
"""


def write_good(good):
    a = arrays()
    for name, x in a.items():
        np.save(os.path.join(good, f"{name}.npy"), x)
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(good, f"f32-v{version[0]}.npy"), "wb") as f:
            np.lib.format.write_array(f, a["f32"], version=version)
    np.savez(os.path.join(good, "stored.npz"), f32=a["f32"], u8=a["u8"], i64=a["i64"])
    np.savez_compressed(os.path.join(good, "compressed.npz"), f32=a["f32"], u8=a["u8"], i64=a["i64"])
    with open(os.path.join(good, "expected.txt"), "w") as f:
        f.write(EXPECTED)


def npy_bytes(x):
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


def write_bad(bad):
    f32 = np.arange(6, dtype=np.float32).reshape(2, 3)
    good = npy_bytes(f32)
    files = {
        "fortran.npy": (npy_bytes(np.asfortranarray(f32)), "Fortran-order"),
        "big-endian.npy": (npy_bytes(f32.astype(">f4")), "big-endian"),
        "float64.npy": (npy_bytes(f32.astype(np.float64)), "dtype '<f8'"),
        "bool.npy": (npy_bytes(np.array([True, False])), "dtype '|b1'"),
        "structured.npy": (npy_bytes(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i8")])), "structured"),
        "truncated-data.npy": (good[:-5], "truncated"),
        "trailing-data.npy": (good + b"\0\0\0\0", "after the data"),
        "truncated-header.npy": (good[:40], "truncated"),
        "preamble-only.npy": (good[:9], "truncated"),
        "not-npy.npy": (b"x,y\n1,2\n", "not an NPY file"),
        "empty.npy": (b"", "empty"),
        "bad-version.npy": (good[:6] + b"\x07\x00" + good[8:], "version 7.0"),
        "header-garbage.npy": (good[:10] + b"{'descr': <f4" + good[23:], "unexpected character"),
        "header-no-shape.npy": (good[:10] + good[10:].replace(b"'shape'", b"'shapf'", 1), "no 'shape'"),
        "negative-shape.npy": (good[:10] + good[10:].replace(b"(2, 3)", b"(2,-3)", 1), "non-negative"),
        "huge-shape.npy": (good[:10] + good[10:].replace(b"(2, 3), }", b"(99999999999999999999,)", 1), "too large"),
    }
    # A stored NPZ with one data byte changed fails its CRC; a cut one loses its directory.
    buf = io.BytesIO()
    np.savez(buf, a=f32)
    stored = bytearray(buf.getvalue())
    stored[200] ^= 0xFF
    files["bad-crc.npz"] = (bytes(stored), "CRC-32")
    files["truncated.npz"] = (buf.getvalue()[:150], "not a ZIP archive")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_BZIP2) as z:
        z.writestr("a.npy", good)
    files["bzip2.npz"] = (buf.getvalue(), "compression method 12")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.npy", b"not an array")
    files["bad-member.npz"] = (buf.getvalue(), "array 'a'")
    with open(os.path.join(bad, "expected-errors.txt"), "w") as f:
        f.write("# file<TAB>substring the error message must contain\n")
        for name, (data, expected) in sorted(files.items()):
            with open(os.path.join(bad, name), "wb") as g:
                g.write(data)
            f.write(f"{name}\t{expected}\n")


def main():
    good, bad = os.path.join(OUT, "good"), os.path.join(OUT, "bad")
    os.makedirs(good, exist_ok=True)
    os.makedirs(bad, exist_ok=True)
    write_good(good)
    write_bad(bad)
    print(f"wrote NPY fixtures to {OUT}")


if __name__ == "__main__":
    main()

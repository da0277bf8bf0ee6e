#!/usr/bin/env python3
"""`make bench`: s2dc's figures, each printed as a ratio against a peer measured in the same run.

Import: `s2dc inspect` (read, decode, import, shape-infer and cost) of a ResNet-50 with real-size
weights (about 100 MB), against onnx.load (protobuf's C++ parser) and onnxruntime session creation;
peak memory (max RSS of the s2dc process) against the file size.

Usage: bench.py --s2dc PATH [--work DIR] [--repeat N]
"""
import argparse
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def child_run(cmd):
    """Runs cmd, returns (seconds, max RSS in bytes of that child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss * 1024


def bench_import(s2dc, work, repeat):
    model = os.path.join(work, "resnet50.onnx")
    if not os.path.exists(model):
        subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), work], check=True)
    size = os.path.getsize(model)
    runs = [child_run([s2dc, "inspect", model, "--json"]) for _ in range(repeat)]
    s2dc_time = min(t for t, _ in runs)
    s2dc_rss = max(r for _, r in runs)

    import onnx
    import onnxruntime as ort
    onnx_time = best_time(lambda: onnx.load(model), repeat)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    ort_time = best_time(lambda: ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"]), repeat)

    print(f"import: ResNet-50, {size / 1e6:.1f} MB of weights (best of {repeat})")
    print(f"  s2dc inspect        {s2dc_time * 1000:8.1f} ms   peak RSS {s2dc_rss / 1e6:7.1f} MB = {s2dc_rss / size:.2f}x file size")
    print(f"  onnx.load           {onnx_time * 1000:8.1f} ms   s2dc/onnx.load    = {s2dc_time / onnx_time:.2f}x")
    print(f"  onnxruntime session {ort_time * 1000:8.1f} ms   s2dc/onnxruntime  = {s2dc_time / ort_time:.2f}x")
    print(f"  targets: under 1 s ({'met' if s2dc_time < 1 else 'MISSED'}), under 3x file size ({'met' if s2dc_rss < 3 * size else 'MISSED'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s2dc", required=True, help="path to the s2dc binary (release build)")
    parser.add_argument("--work", default=".cache/bench", help="folder for generated benchmark models")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench_import(os.path.abspath(args.s2dc), args.work, args.repeat)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""`make bench`: s2dc's figures, each printed as a ratio against a peer measured in the same run.

Import: `s2dc inspect` (read, decode, import, shape-infer and cost) of a ResNet-50 with real-size
weights (about 100 MB), against onnx.load (protobuf's C++ parser) and onnxruntime session creation;
peak memory (max RSS of the s2dc process) against the file size.

Training: `s2dc train` throughput (images per second, batch 128, 2 OpenBLAS threads) on the
ResNet-20-style model of make-bench-models.py with Fashion-MNIST (forward, backward and SGD step,
augmentation included). No peer trainer is installed (neither torch nor onnxruntime-training), so
the figure is printed alone, with the machine it ran on.

Usage: bench.py --s2dc PATH [--work DIR] [--repeat N] [--only import|training]
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


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs visible"


def bench_training(s2dc, work, repeat):
    import re
    import tempfile
    model = os.path.join(work, "resnet20.onnx")
    if not os.path.exists(model):
        subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), work, "resnet20"], check=True)
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "t.onnx")
        for _ in range(max(1, min(repeat, 3))):
            cmd = [s2dc, "train", model, "--data", "fashion-mnist", "--epochs", "1", "--batch-size", "128",
                   "--threads", "2", "--limit-train", "1536", "--limit-test", "1", "--lr", "0.05", "-o", out]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr}")
            m = re.search(r"epoch 1/1: .*?([0-9.]+) images/s", proc.stderr)
            if not m:
                sys.exit(f"bench: no throughput in: {proc.stderr}")
            rates.append(float(m.group(1)))
    print(f"training: ResNet-20-style (28x28x1, 10 classes), batch 128, 2 threads, 12 steps (best of {len(rates)})")
    print(f"  s2dc train          {max(rates):8.0f} images/s   on {machine()}")
    print("  no peer: neither torch nor onnxruntime-training is installed, so the figure stands alone")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s2dc", required=True, help="path to the s2dc binary (release build)")
    parser.add_argument("--work", default=".cache/bench", help="folder for generated benchmark models")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["import", "training"], help="run one section")
    args = parser.parse_args()
    if args.only in (None, "import"):
        bench_import(os.path.abspath(args.s2dc), args.work, args.repeat)
    if args.only in (None, "training"):
        bench_training(os.path.abspath(args.s2dc), args.work, args.repeat)


if __name__ == "__main__":
    main()

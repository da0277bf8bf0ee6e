#!/usr/bin/env python3
"""`make bench`: s2dc's figures, each printed as a ratio against a peer measured in the same run.

Import: `s2dc inspect` (read, decode, import, shape-infer and cost) of a ResNet-50 with real-size
weights (about 100 MB), against onnx.load (protobuf's C++ parser) and onnxruntime session creation;
peak memory (max RSS of the s2dc process) against the file size.

Runtime: the interpreter's latency against onnxruntime's, both on one thread, at batch 1 and 64,
on a ResNet-20 (28x28x1 input, 16/32/64 channels, 3 basic blocks per stage) and a MobileNetV2-style
network (scripts/make-bench-models.py). s2dc is timed by `s2dc run --timing` (the median of
--repeat runs of the model execution alone, after a warm-up; no file I/O); onnxruntime by
session.run with intra- and inter-op threads 1 and its default graph optimizations. Each figure is
the best of three alternating rounds, to damp other load on the machine. GFLOP/s counts 2 FLOPs
per multiply-accumulate of `s2dc inspect`. OpenBLAS's kernel set is printed: when the environment
forces one (OPENBLAS_CORETYPE) on a CPU with AVX-512, s2dc is also timed with the variable unset,
i.e. with the kernels OpenBLAS (and the runtime, see Sources/Runtime/BLASSettings.swift) choose for
the CPU, as onnxruntime does for its own.


Backend: the runtime section's two models through the emitted C, compiled with gcc -O3
-march=native, single thread, batch 1, against onnxruntime single thread (same session options as
the runtime section), best of three alternating rounds of median latency: their ratio, GFLOP/s
(2 x MACs / latency), the planned arena, and the emitted C's difference from onnxruntime.

Training: `s2dc train` throughput (images per second, batch 128, 2 OpenBLAS threads) on the
ResNet-20-style model of make-bench-models.py with Fashion-MNIST (forward, backward and SGD step,
augmentation included). No peer trainer is installed (neither torch nor onnxruntime-training), so
the figure is printed alone, with the machine it ran on.

Peer (only with `--only peer`, since it trains for minutes to hours): issue 15's PyTorch peer, the
fixed uniform partition (0.25, 0.5) of the ResNet-20 bench model written by hand in PyTorch
(scripts/bench-peer-uniform.py), trained --peer-epochs epochs; prints its test accuracy at its mean
MACs and its wall time. Needs a Python with torch: --torch-python or $S2DC_TORCH_PYTHON.

Usage: bench.py --s2dc PATH [--work DIR] [--repeat N] [--runs N] [--only import|runtime|backend|training|peer]
                [--torch-python PY] [--peer-epochs E] [--peer-pretrain-epochs P] [--peer-model M.onnx]
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


def cpu_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return all(x in flags for x in ["avx512f", "avx512dq", "avx512bw", "avx512vl"])


def s2dc_latency(s2dc, model, x_path, repeat, env):
    """Median seconds of the model execution reported by `s2dc run --timing`, and the BLAS core."""
    out = subprocess.run([s2dc, "run", model, "--input", x_path, "--timing", "--repeat", str(repeat), "--threads", "1"],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"bench: s2dc run {model} failed: {out.stderr}")
    fields = dict(f.split("=", 1) for f in out.stdout.split() if "=" in f)
    return float(fields["median_ms"]) / 1000, fields.get("blas", "?")


def ort_single_thread_session(model):
    """An onnxruntime session on one thread (intra- and inter-op), default graph optimizations."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def ort_latency(session, x, repeat):
    session.run(None, {"input": x})
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, {"input": x})
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def bench_runtime(s2dc, work, repeat):
    import json

    import numpy as np

    models = ["resnet20", "mobilenetv2"]
    missing = [m for m in models if not os.path.exists(os.path.join(work, f"{m}.onnx"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), work] + missing, check=True)
    base_env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    variants = [("s2dc", base_env)]
    if "OPENBLAS_CORETYPE" in os.environ and cpu_has_avx512():
        variants.append(("s2dc, auto", {k: v for k, v in base_env.items() if k != "OPENBLAS_CORETYPE"}))
    rounds = 3
    print(f"runtime: single thread, latency per batch (best of {rounds} rounds of median-of-{repeat}); ratio = s2dc / onnxruntime")
    print(f"  {'model':<12} {'batch':>5} {'engine':<12} {'BLAS':<9} {'ms':>9} {'GFLOP/s':>8} {'ratio':>6}")
    for name in models:
        model = os.path.join(work, f"{name}.onnx")
        session = ort_single_thread_session(model)
        for batch in [1, 64]:
            x = np.random.default_rng(batch).standard_normal((batch, 1, 28, 28)).astype(np.float32)
            x_path = os.path.join(work, f"input-{batch}.npy")
            np.save(x_path, x)
            report = subprocess.run([s2dc, "inspect", model, "--json", "--batch", str(batch)], capture_output=True, text=True, check=True)
            flops = 2 * json.loads(report.stdout)["totals"]["macs"]
            best = {label: (float("inf"), "?") for label, _ in variants}
            ort_best = float("inf")
            for _ in range(rounds):
                ort_best = min(ort_best, ort_latency(session, x, repeat))
                for label, env in variants:
                    t, core = s2dc_latency(s2dc, model, x_path, repeat, env)
                    best[label] = min(best[label], (t, core))
            print(f"  {name:<12} {batch:>5} {'onnxruntime':<12} {'(MLAS)':<9} {ort_best * 1000:9.3f} {flops / ort_best / 1e9:8.1f}")
            for label, _ in variants:
                t, core = best[label]
                print(f"  {name:<12} {batch:>5} {label:<12} {core:<9} {t * 1000:9.3f} {flops / t / 1e9:8.1f} {t / ort_best:6.2f}")
    print("  target: within 2x of onnxruntime at batch 64")


TIMING_DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "%(name)s.h"

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv)
{
    static float in[%(P)s_INPUT_SIZE], out[%(P)s_OUTPUT_SIZE];
    int runs = atoi(argv[1]);
    double *t = malloc(sizeof(double) * runs);
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(in, sizeof(float), %(P)s_INPUT_SIZE, f) != %(P)s_INPUT_SIZE) return 2;
    fclose(f);
    %(load)s
    for (int i = 0; i < 10; ++i) %(p)s_run(in, out);
    for (int i = 0; i < runs; ++i) { double s = now_ms(); %(p)s_run(in, out); t[i] = now_ms() - s; }
    qsort(t, runs, sizeof(double), cmp);
    f = fopen(argv[3], "wb");
    fwrite(out, sizeof(float), %(P)s_OUTPUT_SIZE, f);
    fclose(f);
    printf("%%.6f\n", t[runs / 2]);
    return 0;
}
"""


def build_emitted_c(s2dc, model, name, out_dir):
    """Emits `model` as C into out_dir, compiles it with gcc -O3 -march=native beside the timing
    driver; returns the executable and the planned arena and activation bytes `s2dc emit` prints."""
    emitted = subprocess.run([os.environ.get("S2DC_EMIT", s2dc), "emit", model, "--target", "c", "-o", out_dir,
                              "--prefix", name, "--weights", "file"], check=True, capture_output=True, text=True).stdout
    arena = int(emitted.split("arena: ")[1].split(" bytes")[0])
    activations = int(emitted.split("sum of all activations: ")[1].split(" bytes")[0])
    with open(os.path.join(out_dir, "bench.c"), "w") as f:
        f.write(TIMING_DRIVER % {"name": name, "p": name, "P": name.upper(),
                                 "load": f'if ({name}_load_weights("{os.path.join(out_dir, name + ".bin")}") != 0) return 3;'})
    exe = os.path.join(out_dir, "bench")
    subprocess.run(["gcc", "-O3", "-march=native", "-o", exe, os.path.join(out_dir, f"{name}.c"),
                    os.path.join(out_dir, "bench.c"), "-lm"], check=True)
    return exe, arena, activations


def bench_backend(s2dc, work, runs):
    """The runtime section's two 28x28x1 models through the emitted C against onnxruntime, both on
    one thread at batch 1; like that section, the best of three alternating rounds of medians."""
    import json

    import numpy as np
    import onnxruntime as ort

    models = ["resnet20", "mobilenetv2"]
    missing = [m for m in models if not os.path.exists(os.path.join(work, f"{m}.onnx"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), work] + missing, check=True)
    rounds = 3
    print(f"backend: emitted C (gcc -O3 -march=native, 1 thread, batch 1) vs onnxruntime {ort.__version__} (1 thread), "
          f"best of {rounds} rounds of median-of-{runs}; ratio = C / onnxruntime")
    print(f"  {'model':<12} {'engine':<12} {'ms':>9} {'GFLOP/s':>8} {'ratio':>6}")
    for name in models:
        model = os.path.join(work, f"{name}.onnx")
        out_dir = os.path.join(work, f"{name}-c")
        exe, arena, activations = build_emitted_c(s2dc, model, name, out_dir)
        report = subprocess.run([s2dc, "inspect", model, "--json", "--batch", "1"], capture_output=True, text=True, check=True)
        flops = 2 * json.loads(report.stdout)["totals"]["macs"]
        session = ort_single_thread_session(model)
        x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
        x_path = os.path.join(out_dir, "input.raw")
        out_path = os.path.join(out_dir, "output.raw")
        x.tofile(x_path)
        ref = session.run(None, {"input": x})[0]
        c_best = ort_best = float("inf")
        for _ in range(rounds):
            ort_best = min(ort_best, ort_latency(session, x, runs))
            c_ms = float(subprocess.run([exe, str(runs), x_path, out_path], check=True, capture_output=True, text=True).stdout)
            c_best = min(c_best, c_ms / 1000)
        out = np.fromfile(out_path, dtype=np.float32).reshape(ref.shape)
        rel = float(np.abs(out - ref).max() / np.abs(ref).max())
        ratio = c_best / ort_best
        print(f"  {name:<12} {'onnxruntime':<12} {ort_best * 1000:9.3f} {flops / ort_best / 1e9:8.1f}")
        print(f"  {name:<12} {'emitted C':<12} {c_best * 1000:9.3f} {flops / c_best / 1e9:8.1f} {ratio:6.2f}"
              f"  {'met' if ratio <= 1.5 else 'MISSED'} (target 1.5x)")
        print(f"  {'':<12} {flops / 2e6:.1f} M MACs; arena {arena} bytes (activations without reuse {activations} bytes); "
              f"max |C - onnxruntime| / max |onnxruntime| = {rel:.1e}")


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


def bench_peer(work, python, epochs, pretrain, model):
    if not python:
        sys.exit("bench: the peer section needs a Python with torch: --torch-python or S2DC_TORCH_PYTHON")
    cmd = [python, os.path.join(HERE, "bench-peer-uniform.py"), "--epochs", str(epochs),
           "--pretrain-epochs", str(pretrain), "--json", os.path.join(work, "peer.json")]
    if model:
        cmd += ["--model", model]
    os.makedirs(work, exist_ok=True)
    print(f"peer: PyTorch uniform partition (0.25, 0.5), {epochs} epochs from the model's weights "
          f"({pretrain} static pre-training epochs), 2 threads", flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stdout}")
    for line in proc.stdout.splitlines():
        if line.startswith(("static model", "PyTorch peer", "thresholds", "exit ", "  1", "  2", "  3")):
            print("  " + line)
    print("  s2dc convert's figure at the same epochs goes beside this one once `s2dc convert` exists")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s2dc", required=True, help="path to the s2dc binary (release build)")
    parser.add_argument("--work", default=".cache/bench", help="folder for generated benchmark models")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200, help="timed runs per model in the backend section")
    parser.add_argument("--only", choices=["import", "runtime", "backend", "training", "peer"], help="run one section")
    parser.add_argument("--torch-python", default=os.environ.get("S2DC_TORCH_PYTHON"), help="a Python with torch (peer)")
    parser.add_argument("--peer-epochs", type=int, default=4)
    parser.add_argument("--peer-pretrain-epochs", type=int, default=0)
    parser.add_argument("--peer-model", help="ONNX model for the peer (default: the bench ResNet-20)")
    args = parser.parse_args()
    s2dc = os.path.abspath(args.s2dc)
    if args.only in (None, "import"):
        bench_import(s2dc, args.work, args.repeat)
    if args.only in (None, "runtime"):
        bench_runtime(s2dc, args.work, max(args.repeat, 20))
    if args.only in (None, "backend"):
        bench_backend(s2dc, os.path.abspath(args.work), max(args.runs, 1))
    if args.only in (None, "training"):
        bench_training(s2dc, args.work, args.repeat)
    if args.only == "peer":  # never in the default run: it trains for a long time
        bench_peer(args.work, args.torch_python, args.peer_epochs, args.peer_pretrain_epochs, args.peer_model)


if __name__ == "__main__":
    main()

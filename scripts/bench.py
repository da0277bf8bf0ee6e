#!/usr/bin/env python3
"""`make bench`: s2dc's figures, each printed as a ratio against a peer measured in the same run.

Import: `s2dc inspect` (read, decode, import, shape-infer and cost) of a ResNet-50 with real-size
weights (about 100 MB), against onnx.load (protobuf's C++ parser) and onnxruntime session creation;
peak memory (max RSS of the s2dc process) against the file size.

Backend: the emitted C of a ResNet-20-style and a MobileNetV2-style model (scripts/bench_models.py),
compiled with gcc -O3 -march=native, single thread, batch 1, against onnxruntime single thread:
median latency, their ratio, GFLOP/s (2 x MACs / latency) and the planned arena.

Usage: bench.py --s2dc PATH [--work DIR] [--repeat N] [--only import|backend]
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


def bench_backend(s2dc, work, runs):
    import numpy as np
    import onnxruntime as ort
    if not all(os.path.exists(os.path.join(work, f"{m}.onnx")) for m in ("resnet20", "mobilenetv2")):
        subprocess.run([sys.executable, os.path.join(HERE, "bench_models.py"), work], check=True, stdout=subprocess.DEVNULL)
    print(f"backend: emitted C (gcc -O3 -march=native, 1 thread, batch 1) vs onnxruntime {ort.__version__} (1 thread); median of {runs} runs")
    for name in ("resnet20", "mobilenetv2"):
        model = os.path.join(work, f"{name}.onnx")
        out_dir = os.path.join(work, f"{name}-c")
        emitted = subprocess.run([os.environ.get("S2DC_EMIT", s2dc), "emit", model, "--target", "c", "-o", out_dir, "--weights", "file"],
                                 check=True, capture_output=True, text=True).stdout
        arena = int(emitted.split("arena: ")[1].split(" bytes")[0])
        activations = int(emitted.split("sum of all activations: ")[1].split(" bytes")[0])
        macs = int(subprocess.run([s2dc, "inspect", model, "--json"], check=True, capture_output=True, text=True)
                   .stdout.split('"macs"')[-1].split(":")[1].split(",")[0].split("}")[0])
        with open(os.path.join(out_dir, "bench.c"), "w") as f:
            f.write(TIMING_DRIVER % {"name": name, "p": name, "P": name.upper(),
                                     "load": f'if ({name}_load_weights("{os.path.join(out_dir, name + ".bin")}") != 0) return 3;'})
        exe = os.path.join(out_dir, "bench")
        subprocess.run(["gcc", "-O3", "-march=native", "-o", exe, os.path.join(out_dir, f"{name}.c"),
                        os.path.join(out_dir, "bench.c"), "-lm"], check=True)
        sess_opts = ort.SessionOptions()
        sess_opts.intra_op_num_threads = 1
        sess_opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(model, sess_opts, providers=["CPUExecutionProvider"])
        shape = [1 if not isinstance(d, int) else d for d in sess.get_inputs()[0].shape]
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        x.tofile(os.path.join(out_dir, "input.raw"))
        feed = {sess.get_inputs()[0].name: x}
        for _ in range(10):
            ref = sess.run(None, feed)[0]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            sess.run(None, feed)
            times.append((time.perf_counter() - start) * 1000)
        ort_ms = sorted(times)[runs // 2]
        c_ms = float(subprocess.run([exe, str(runs), os.path.join(out_dir, "input.raw"), os.path.join(out_dir, "output.raw")],
                                    check=True, capture_output=True, text=True).stdout)
        out = np.fromfile(os.path.join(out_dir, "output.raw"), dtype=np.float32).reshape(ref.shape)
        rel = float(np.abs(out - ref).max() / np.abs(ref).max())
        print(f"  {name:12s} {macs / 1e6:6.1f} M MACs  C {c_ms:7.3f} ms ({2 * macs / c_ms / 1e6:5.1f} GFLOP/s)"
              f"  onnxruntime {ort_ms:7.3f} ms ({2 * macs / ort_ms / 1e6:5.1f} GFLOP/s)  C/onnxruntime = {c_ms / ort_ms:.2f}x"
              f"  {'met' if c_ms <= 1.5 * ort_ms else 'MISSED'} (target 1.5x)")
        print(f"  {'':12s} arena {arena / 1e6:.2f} MB (activations without reuse {activations / 1e6:.2f} MB); max |C - onnxruntime| / max |onnxruntime| = {rel:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s2dc", required=True, help="path to the s2dc binary (release build)")
    parser.add_argument("--work", default=".cache/bench", help="folder for generated benchmark models")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200, help="timed runs per model in the backend section")
    parser.add_argument("--only", choices=["import", "backend"])
    args = parser.parse_args()
    if args.only != "backend":
        bench_import(os.path.abspath(args.s2dc), args.work, args.repeat)
    if args.only != "import":
        bench_backend(os.path.abspath(args.s2dc), os.path.abspath(args.work), args.runs)


if __name__ == "__main__":
    main()

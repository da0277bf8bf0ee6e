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
-march=native in gcc's default dialect and under -std=c99 (where gcc does not contract
multiply-adds unless the code asks), single thread, batch 1, against onnxruntime single thread
(same session options as the runtime section), best of three alternating rounds of median latency:
each dialect's ratio, GFLOP/s (2 x MACs / latency), the planned arena, and the emitted C's
difference from onnxruntime.

Canonicalize: `s2dc opt --passes=canonicalize --stats` on textual IR chains of 500 and 2000
conv-BN-ReLU blocks (4 channels, 1x1 convs on 8x8 maps); the pass's own time from --stats, best of
--repeat runs. The peer is the same pass on the smaller chain: linear growth gives a ratio of about
4, and the figure must not exceed 6 (the graph's use lists keep every rewrite's lookups constant;
removeNode's shift of the node array is what still grows faster).

Dynamic: what `s2dc convert` ships: the default model (models/default.onnx) converted with `make
demo`'s settings (the Makefile's DEMO_FLAGS: supernet training, search, fine-tuning, thresholds
calibrated to the budget), into WORK/convert/KEY (KEY a digest of the s2dc binary, the model and the
flags; a finished folder is reused and the output says so; --dynamic-convert DIR benches a given
convert folder instead), its chosen dynamic model emitted again by this binary with convert's emit
options, over the whole Fashion-MNIST test set at batch 1, one thread, with its searched thresholds:
mean latency per image of the emitted dynamic C (p_predict, real early exit), of the emitted static
C of the static model, and of onnxruntime on the static model, the C compiled in gcc's default
dialect and under -std=c99; the test accuracy of the dynamic and the static C; each dialect's
realized speedup (static C / dynamic C) beside the MAC reduction (static MACs / mean dynamic MACs),
and the same ratio from one program that calls the dynamic and the static C image by image in turn
(the order alternating), which other load on the machine hits alike (but where each call finds the
caches holding the other model's weights and activations, which costs the smaller dynamic model
more: a pessimistic figure). Also the same dynamic model as dynamic ONNX (`s2dc emit --target onnx`: an If chain, real early
exit) in onnxruntime against the static ONNX in onnxruntime, same session options, its decisions
checked against the dynamic C's. Best of three alternating rounds of the mean.

Training: `s2dc train` throughput (images per second, batch 128, 2 threads) on the runtime
section's ResNet-20 and MobileNetV2-style models with Fashion-MNIST (forward, backward and SGD
step, batch assembly included), its second epoch of 12 steps (--train-steps) so the first is the warm-up, against
PyTorch's CPU training of the same architectures (scripts/torch-train-bench.py: same batch, threads,
optimizer, 3 warm-up steps), alternating the two, best of three rounds with the range printed.
torch comes from the bench venv (scripts/bench-requirements.txt); without it s2dc is printed alone.

Peer (only with `--only peer`, since it trains for minutes to hours): issue 15's PyTorch peer, the
fixed uniform partition (0.25, 0.5) of the ResNet-20 bench model written by hand in PyTorch
(scripts/bench-peer-uniform.py), trained --peer-epochs epochs, beside `s2dc convert` on the same
static model (the peer's pre-trained weights with --peer-pretrain-epochs) with as many epochs in all
(supernet + 2 of fine-tuning), the same validation split and budget 0.2: test accuracy at mean MACs
and wall time of each, and convert's baselines.
Needs a Python with torch: --torch-python or $S2DC_TORCH_PYTHON.

Usage: bench.py --s2dc PATH [--work DIR] [--repeat N] [--runs N] [--train-steps N]
                [--dynamic-images N] [--dynamic-convert DIR]
                [--only import|runtime|backend|dynamic|canonicalize|training|peer]
                [--torch-python PY] [--peer-epochs E] [--peer-pretrain-epochs P] [--peer-model M.onnx]
                [--peer-train-images N]
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


def cpu_flags():
    """The instruction-set flags the CPU reports in /proc/cpuinfo (empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split() for line in f if line.startswith("flags")), [])
    except OSError:
        return []


def cpu_has_avx512():
    """Whether OpenBLAS's AVX-512 kernel sets (SkylakeX, Cooperlake) can run here."""
    flags = cpu_flags()
    return all(x in flags for x in ["avx512f", "avx512dq", "avx512bw", "avx512vl"])


def s2dc_latency(s2dc, model, x_path, repeat, env, threads=1):
    """Median seconds of the model execution reported by `s2dc run --timing`, and the BLAS core."""
    out = subprocess.run([s2dc, "run", model, "--input", x_path, "--timing", "--repeat", str(repeat), "--threads", str(threads)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"bench: s2dc run {model} failed: {out.stderr}")
    fields = dict(f.split("=", 1) for f in out.stdout.split() if "=" in f)
    return float(fields["median_ms"]) / 1000, fields.get("blas", "?")


def ort_single_thread_session(model, threads=1, log_severity=2):
    """An onnxruntime session on one thread (intra- and inter-op; `threads` intra-op threads when
    given), default graph optimizations."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = log_severity
    opts.intra_op_num_threads = threads
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
    print(f"  on {machine()}")
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
            if batch == 64:
                # The same batch on two threads each (what a search's candidate evaluation can use).
                session2 = ort_single_thread_session(model, threads=2)
                env2 = dict(base_env, OPENBLAS_NUM_THREADS="2")
                ort2 = ours2 = float("inf")
                for _ in range(rounds):
                    ort2 = min(ort2, ort_latency(session2, x, repeat))
                    ours2 = min(ours2, s2dc_latency(s2dc, model, x_path, repeat, env2, threads=2)[0])
                print(f"  {name:<12} {batch:>5} {'onnxrt, 2 t':<12} {'(MLAS)':<9} {ort2 * 1000:9.3f} {flops / ort2 / 1e9:8.1f}")
                print(f"  {name:<12} {batch:>5} {'s2dc, 2 t':<12} {'':<9} {ours2 * 1000:9.3f} {flops / ours2 / 1e9:8.1f} {ours2 / ort2:6.2f}")
    print("  target: within 1.3x of onnxruntime at batch 64 on one thread; the '2 t' rows use two threads each")


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


C_DIALECTS = [("gnu default", []), ("-std=c99", ["-std=c99"])]


def build_emitted_c(s2dc, model, name, out_dir):
    """Emits `model` as C into out_dir, compiles it with gcc -O3 -march=native beside the timing
    driver once per dialect of C_DIALECTS; returns the executables and the planned arena and
    activation bytes `s2dc emit` prints."""
    emitted = subprocess.run([os.environ.get("S2DC_EMIT", s2dc), "emit", model, "--target", "c", "-o", out_dir,
                              "--prefix", name, "--weights", "file"], check=True, capture_output=True, text=True).stdout
    arena = int(emitted.split("arena: ")[1].split(" bytes")[0])
    activations = int(emitted.split("sum of all activations: ")[1].split(" bytes")[0])
    with open(os.path.join(out_dir, "bench.c"), "w") as f:
        f.write(TIMING_DRIVER % {"name": name, "p": name, "P": name.upper(),
                                 "load": f'if ({name}_load_weights("{os.path.join(out_dir, name + ".bin")}") != 0) return 3;'})
    exes = []
    for i, (_, flags) in enumerate(C_DIALECTS):
        exe = os.path.join(out_dir, f"bench{i}")
        subprocess.run(["gcc", "-O3", "-march=native"] + flags + ["-o", exe, os.path.join(out_dir, f"{name}.c"),
                        os.path.join(out_dir, "bench.c"), "-lm"], check=True)
        exes.append(exe)
    return exes, arena, activations


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
    print(f"backend: emitted C (gcc -O3 -march=native, default dialect and -std=c99, 1 thread, batch 1) vs onnxruntime "
          f"{ort.__version__} (1 thread), best of {rounds} rounds of median-of-{runs}; ratio = C / onnxruntime")
    print(f"  on {machine()}")
    print(f"  {'model':<12} {'engine':<20} {'ms':>9} {'GFLOP/s':>8} {'ratio':>6}")
    for name in models:
        model = os.path.join(work, f"{name}.onnx")
        out_dir = os.path.join(work, f"{name}-c")
        exes, arena, activations = build_emitted_c(s2dc, model, name, out_dir)
        report = subprocess.run([s2dc, "inspect", model, "--json", "--batch", "1"], capture_output=True, text=True, check=True)
        flops = 2 * json.loads(report.stdout)["totals"]["macs"]
        session = ort_single_thread_session(model)
        x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
        x_path = os.path.join(out_dir, "input.raw")
        out_path = os.path.join(out_dir, "output.raw")
        x.tofile(x_path)
        ref = session.run(None, {"input": x})[0]
        c_best = [float("inf")] * len(exes)
        ort_best = float("inf")
        rel = 0.0
        for _ in range(rounds):
            ort_best = min(ort_best, ort_latency(session, x, runs))
            for i, exe in enumerate(exes):
                c_ms = float(subprocess.run([exe, str(runs), x_path, out_path], check=True, capture_output=True, text=True).stdout)
                c_best[i] = min(c_best[i], c_ms / 1000)
                out = np.fromfile(out_path, dtype=np.float32).reshape(ref.shape)
                rel = max(rel, float(np.abs(out - ref).max() / np.abs(ref).max()))
        print(f"  {name:<12} {'onnxruntime':<20} {ort_best * 1000:9.3f} {flops / ort_best / 1e9:8.1f}")
        for (dialect, _), t in zip(C_DIALECTS, c_best):
            ratio = t / ort_best
            print(f"  {name:<12} {'C, ' + dialect:<20} {t * 1000:9.3f} {flops / t / 1e9:8.1f} {ratio:6.2f}"
                  f"  {'met' if ratio <= 1.0 else 'MISSED'} (target 1.0x)")
        print(f"  {'':<12} {flops / 2e6:.1f} M MACs; arena {arena} bytes (activations without reuse {activations} bytes); "
              f"max |C - onnxruntime| / max |onnxruntime| = {rel:.1e} (both dialects)")


def conv_bn_relu_chain(blocks, channels=4):
    """Textual IR of `blocks` conv-BN-ReLU blocks in a chain, with seeded weights."""
    import random
    rng = random.Random(blocks)

    def dense(n, lo, hi):
        return "dense<[" + ", ".join(f"{rng.uniform(lo, hi):.4f}" for _ in range(n)) + "]>"
    c = channels
    lines = [f"graph @chain(%x0: f32[N,{c},8,8]) -> (%x{blocks}) {{"]
    for i in range(blocks):
        lines.append(f"  const %w{i}: f32[{c},{c},1,1] = {dense(c * c, -0.5, 0.5)}")
        lines.append(f"  const %b{i}: f32[{c}] = {dense(c, -0.1, 0.1)}")
        for name, lo, hi in (("s", 0.5, 1.5), ("t", -0.1, 0.1), ("m", -0.1, 0.1), ("v", 0.5, 1.5)):
            lines.append(f"  const %{name}{i}: f32[{c}] = {dense(c, lo, hi)}")
    for i in range(blocks):
        lines.append(f"  %c{i} = conv(%x{i}, %w{i}, %b{i}) {{kernel = [1, 1]}}")
        lines.append(f"  %n{i} = batch_norm(%c{i}, %s{i}, %t{i}, %m{i}, %v{i})")
        lines.append(f"  %x{i + 1} = relu(%n{i})")
    lines.append(f"  return %x{blocks}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def canonicalize_ms(s2dc, path, out):
    """The canonicalize pass's own time (ms) from `s2dc opt --stats`."""
    proc = subprocess.run([s2dc, "opt", path, "--passes=canonicalize", "--stats", "-o", out], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: s2dc opt {path} failed: {proc.stderr}")
    for line in proc.stderr.splitlines():
        cells = line.split()
        if cells and cells[0] == "canonicalize":
            return float(cells[-1])
    sys.exit(f"bench: no canonicalize row in: {proc.stderr}")


def bench_canonicalize(s2dc, work, repeat):
    os.makedirs(work, exist_ok=True)
    sizes = [500, 2000]
    times = {}
    for blocks in sizes:
        path = os.path.join(work, f"chain{blocks}.s2dir")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(conv_bn_relu_chain(blocks))
        out = os.path.join(work, f"chain{blocks}.opt.s2dir")
        times[blocks] = min(canonicalize_ms(s2dc, path, out) for _ in range(max(1, repeat)))
    ratio = times[2000] / times[500]
    print(f"canonicalize: conv-BN-ReLU chains through `s2dc opt --passes=canonicalize` (pass time, best of {max(1, repeat)})")
    for blocks in sizes:
        print(f"  {blocks:>5} blocks ({3 * blocks} nodes) {times[blocks]:9.1f} ms")
    print(f"  2000/500 = {ratio:.2f}x (linear: about 4; must be <= 6){'' if ratio <= 6 else '  FAILS the bound'}")


DYNAMIC_DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "%(p)s.h"

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

/* argv: images (n x INPUT_SIZE raw floats), n, labels out. Prints mean ms per image and, for a
   dynamic model, the mean MACs and the exits per stage. */
int main(int argc, char **argv)
{
    long n = atol(argv[2]);
    float *in = malloc(sizeof(float) * (size_t)n * %(P)s_INPUT_SIZE);
    static float out[%(OUT)s];
    long long macs = 0;
    long exits[17] = {0};
    FILE *f = fopen(argv[1], "rb");
    if (argc != 4 || !in || !f || fread(in, sizeof(float), (size_t)n * %(P)s_INPUT_SIZE, f) != (size_t)n * %(P)s_INPUT_SIZE) return 2;
    fclose(f);
    %(load)s
    FILE *lab = fopen(argv[3], "w");
    for (long i = 0; i < 20; ++i) %(call)s
    double start = now_ms();
    for (long i = 0; i < n; ++i) %(call)s
    double ms = (now_ms() - start) / n;
    for (long i = 0; i < n; ++i) { %(call)s %(record)s }
    fclose(lab);
    printf("%%.6f %%.1f", ms, (double)macs / n);
    for (int s = 1; s <= %(S)s; ++s) printf(" %%ld", exits[s] / 1);
    printf("\n");
    return 0;
}
"""


PAIRED_DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "dyn.h"
#include "sta.h"

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

/* argv: images (n x DYN_INPUT_SIZE raw floats), n. Per image one dynamic and one static call, in
   alternating order, each timed: other load hits both alike (each call also finds the caches
   holding the other model's data). Prints the mean ms of each. */
int main(int argc, char **argv)
{
    if (argc != 3) return 1;
    long n = atol(argv[2]);
    float *in = malloc(sizeof(float) * (size_t)n * DYN_INPUT_SIZE);
    static float out[STA_OUTPUT_SIZE > DYN_CLASSES ? STA_OUTPUT_SIZE : DYN_CLASSES];
    dyn_result r;
    double td = 0, ts = 0;
    FILE *f = fopen(argv[1], "rb");
    if (!in || !f || fread(in, sizeof(float), (size_t)n * DYN_INPUT_SIZE, f) != (size_t)n * DYN_INPUT_SIZE) return 2;
    fclose(f);
    for (long i = 0; i < 20 && i < n; ++i) { dyn_predict(in + i * DYN_INPUT_SIZE, out, 0, &r); sta_run(in + i * DYN_INPUT_SIZE, out); }
    for (long i = 0; i < n; ++i) {
        const float *x = in + i * DYN_INPUT_SIZE;
        double t0, t1, t2;
        if (i % 2 == 0) { t0 = now_ms(); dyn_predict(x, out, 0, &r); t1 = now_ms(); sta_run(x, out); t2 = now_ms(); td += t1 - t0; ts += t2 - t1; }
        else { t0 = now_ms(); sta_run(x, out); t1 = now_ms(); dyn_predict(x, out, 0, &r); t2 = now_ms(); ts += t1 - t0; td += t2 - t1; }
    }
    printf("%.6f %.6f\n", td / n, ts / n);
    return 0;
}
"""


def demo_flags(root):
    """`make demo`'s convert options (the Makefile's DEMO_FLAGS, continuation lines joined), so the
    bench converts the model the way the demo does without a second copy of the settings."""
    import re
    import shlex
    with open(os.path.join(root, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^DEMO_FLAGS\s*:?=(.*)$", text, re.M)
    if not m:
        sys.exit("dynamic bench: no DEMO_FLAGS in the Makefile")
    return shlex.split(m.group(1))


def file_digest(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def converted_model(s2dc, work, model, flags, folder=None):
    """The folder of `s2dc convert MODEL FLAGS`: `folder` when given (used as it is), else
    WORK/convert/KEY, KEY a digest of the binary, the model and the flags, converted now unless a
    finished run (its report.json) is already there. Returns (folder, whether it was reused)."""
    import hashlib
    if folder:
        if not os.path.exists(os.path.join(folder, "chosen.s2dir")):
            sys.exit(f"dynamic bench: {folder} has no chosen.s2dir (not a finished s2dc convert folder)")
        return folder, True
    key = hashlib.sha256("\n".join([file_digest(s2dc), file_digest(model)] + flags).encode()).hexdigest()[:16]
    out = os.path.join(work, "convert", key)
    if os.path.exists(os.path.join(out, "report.json")):
        return out, True
    print(f"dynamic: s2dc convert {os.path.relpath(model)} {' '.join(flags)} -o {out} (cached for this binary and model)", flush=True)
    # An interrupted run resumes where it stopped (convert keeps its phases in the folder).
    proc = subprocess.run([s2dc, "convert", model] + flags + ["-o", out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"dynamic bench: s2dc convert failed:\n{proc.stdout[-4000:]}")
    return out, False


def bench_dynamic(s2dc, work, images_limit=10000, convert_folder=None):
    """Dynamic C vs static C vs onnxruntime over the Fashion-MNIST test set at batch 1, on what
    `s2dc convert` ships: the default model converted with the demo's settings (supernet-trained,
    searched, fine-tuned, thresholds calibrated to the budget), its chosen dynamic model emitted
    again by this binary, with its searched thresholds."""
    import gzip
    import json

    import numpy as np
    import onnxruntime as ort

    root = os.path.dirname(HERE)
    model = os.path.join(root, "models", "default.onnx")
    flags = demo_flags(root)
    conv, reused = converted_model(s2dc, work, model, flags, convert_folder)
    if convert_folder:
        # A given folder: the static model and the options are that run's own (OUT/convert.json).
        with open(os.path.join(conv, "convert.json")) as f:
            settings = json.load(f)
        model = settings["model"] if os.path.isabs(settings["model"]) else os.path.join(root, settings["model"])
        flags = [f"its own options: budget {settings['budget']}, {settings['epochs']} supernet epoch(s), "
                 f"{settings['finetuneEpochs']} fine-tuning epoch(s)"]
    with open(os.path.join(conv, "final-config.json")) as f:
        thresholds = json.load(f)["thresholds"]
    data = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(data, "t10k-images-idx3-ubyte.gz")) as f:
        images = (np.frombuffer(f.read(), np.uint8, offset=16).astype(np.float32) * np.float32(1 / 255)).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(data, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    images, labels = images[:images_limit], labels[:images_limit]
    n = len(images)
    d = os.path.join(work, "dynamic")
    os.makedirs(d, exist_ok=True)
    x_path = os.path.join(d, "images.raw")
    images.tofile(x_path)
    chosen = os.path.join(conv, "chosen.s2dir")
    exes = {}
    for kind, src, p in [("dynamic", chosen, "dyn"), ("static", model, "sta")]:
        out_dir = os.path.join(d, kind)
        # The emit options convert uses (weights inline at this size), so this is the code it ships.
        subprocess.run([s2dc, "emit", src, "--target", "c", "-o", out_dir, "--prefix", p], check=True, capture_output=True)
        if kind == "dynamic":
            call = f"{p}_predict(in + i * {p.upper()}_INPUT_SIZE, out, 0, &r);"
            record = 'macs += r.macs; exits[r.exit_stage] += 1; fprintf(lab, "%d\\n", r.label);'
            src_c = DYNAMIC_DRIVER.replace("static float out", f"{p}_result r; static float out")
            fields = {"OUT": f"{p.upper()}_CLASSES", "S": f"{p.upper()}_STAGES"}
        else:
            call = f"{p}_run(in + i * {p.upper()}_INPUT_SIZE, out);"
            record = ('{ int l = 0; for (int k = 1; k < %s_OUTPUT_SIZE; ++k) if (out[k] > out[l]) l = k; fprintf(lab, "%%d\\n", l); }'
                      % p.upper())
            src_c = DYNAMIC_DRIVER
            fields = {"OUT": f"{p.upper()}_OUTPUT_SIZE", "S": "0"}
        weights = os.path.join(out_dir, p + ".bin")
        load = f'if ({p}_load_weights("{weights}") != 0) return 3;' if os.path.exists(weights) else ""
        with open(os.path.join(out_dir, "bench.c"), "w") as f:
            f.write(src_c % dict(fields, p=p, P=p.upper(), load=load, call=call, record=record))
        for i, (dialect, cflags) in enumerate(C_DIALECTS):
            exe = os.path.join(out_dir, f"bench{i}")
            subprocess.run(["gcc", "-O3", "-march=native"] + cflags + ["-o", exe, os.path.join(out_dir, f"{p}.c"),
                            os.path.join(out_dir, "bench.c"), "-lm"], check=True)
            exes[(kind, dialect)] = exe
    # The dynamic and the static C in one program, called image by image in turn (`PAIRED_DRIVER`).
    paired = {}
    with open(os.path.join(d, "paired.c"), "w") as f:
        f.write(PAIRED_DRIVER)
    for i, (dialect, cflags) in enumerate(C_DIALECTS):
        exe = os.path.join(d, f"paired{i}")
        subprocess.run(["gcc", "-O3", "-march=native"] + cflags + ["-I", os.path.join(d, "dynamic"), "-I", os.path.join(d, "static"),
                        "-o", exe, os.path.join(d, "dynamic", "dyn.c"), os.path.join(d, "static", "sta.c"),
                        os.path.join(d, "paired.c"), "-lm"], check=True)
        paired[dialect] = (exe, [])
    dynamic_onnx = os.path.join(d, "dynamic.onnx")
    subprocess.run([s2dc, "emit", chosen, "--target", "onnx", "-o", dynamic_onnx], check=True, capture_output=True)
    session = ort_single_thread_session(model)
    # The thresholds are initializers that are also inputs (overridable), which onnxruntime warns about.
    dyn_session = ort_single_thread_session(dynamic_onnx, log_severity=3)
    best = {key: float("inf") for key in list(exes) + ["onnxruntime", "dynamic onnx"]}
    dyn_onnx = []
    info = {}
    for _ in range(3):
        for (kind, dialect), exe in exes.items():
            lab = os.path.join(d, f"{kind}.labels")
            fields = subprocess.run([exe, x_path, str(n), lab], check=True, capture_output=True, text=True).stdout.split()
            best[(kind, dialect)] = min(best[(kind, dialect)], float(fields[0]))
            result = (float(fields[1]), [int(v) for v in fields[2:]], np.loadtxt(lab, dtype=np.int64))
            if kind in info and (info[kind][0] != result[0] or info[kind][1] != result[1] or (info[kind][2] != result[2]).any()):
                sys.exit(f"dynamic bench: the {kind} C's MACs, exits or labels differ between dialects")
            info[kind] = result
        for exe, ratios in paired.values():
            dyn_ms, sta_ms = (float(v) for v in subprocess.run([exe, x_path, str(n)], check=True, capture_output=True,
                                                                text=True).stdout.split())
            ratios.append(sta_ms / dyn_ms)
        for i in range(20):
            session.run(None, {"input": images[i:i + 1]})
        start = time.perf_counter()
        for i in range(n):
            session.run(None, {"input": images[i:i + 1]})
        best["onnxruntime"] = min(best["onnxruntime"], (time.perf_counter() - start) / n * 1000)
        for i in range(20):
            dyn_session.run(None, {"input": images[i:i + 1]})
        start = time.perf_counter()
        dyn_onnx = [dyn_session.run(None, {"input": images[i:i + 1]}) for i in range(n)]
        best["dynamic onnx"] = min(best["dynamic onnx"], (time.perf_counter() - start) / n * 1000)
    static_macs = json.loads(subprocess.run([s2dc, "inspect", model, "--json", "--batch", "1"], capture_output=True,
                                            text=True, check=True).stdout)["totals"]["macs"]
    mean_macs, exits, dyn_labels = info["dynamic"]
    acc_dyn = float((dyn_labels == labels).mean())
    acc_sta = float((info["static"][2] == labels).mean())
    reduction = static_macs / mean_macs
    print(f"dynamic: {os.path.relpath(model, root)} through s2dc convert ({' '.join(flags)}; "
          f"{'reused' if reused else 'converted now'}: {os.path.relpath(conv)}), its chosen model emitted by this binary, "
          f"searched thresholds [{','.join(f'{t:.4f}' for t in thresholds)}], {n} Fashion-MNIST test images, "
          f"batch 1, 1 thread, best of 3 rounds of the mean (gcc -O3 -march=native, default dialect and -std=c99; "
          f"onnxruntime {ort.__version__})")
    print(f"  exits per stage {exits} ({100 * (n - exits[-1]) / n:.0f}% leave early); test accuracy dynamic {acc_dyn:.4f}, "
          f"static {acc_sta:.4f}")
    for dialect, _ in C_DIALECTS:
        for kind in ["dynamic", "static"]:
            print(f"  {kind + ' C, ' + dialect:<26} {best[(kind, dialect)] * 1000:9.1f} us/image")
    print(f"  {'onnxruntime (static)':<26} {best['onnxruntime'] * 1000:9.1f} us/image")
    print(f"  MACs: static {static_macs}, dynamic mean {mean_macs:.0f} ({100 / reduction:.1f}%): reduction {reduction:.2f}x")
    for dialect, _ in C_DIALECTS:
        dyn_ms = best[("dynamic", dialect)]
        realized = best[("static", dialect)] / dyn_ms
        print(f"  {dialect:<12} realized speedup (static C / dynamic C) {realized:.2f}x = {realized / reduction:.2f} of the MAC "
              f"reduction ({'met' if realized >= 0.9 * reduction else 'MISSED'}, target 0.9); dynamic C / onnxruntime "
              f"{dyn_ms / best['onnxruntime']:.2f} ({'met' if dyn_ms <= 0.4 * best['onnxruntime'] else 'MISSED'}, target 0.4)")
    for dialect, (_, ratios) in paired.items():
        realized = sorted(ratios)[len(ratios) // 2]
        print(f"  {dialect:<12} interleaved image by image (one call each, the order alternating; median of 3 rounds): realized "
              f"{realized:.2f}x = {realized / reduction:.2f} of the MAC reduction ({'met' if realized >= 0.9 * reduction else 'MISSED'})")
    onnx_exits = [sum(1 for y in dyn_onnx if int(y[1][0]) == s) for s in range(1, len(exits) + 1)]
    onnx_macs = sum(int(y[2][0]) for y in dyn_onnx) / n
    same = sum(1 for y, l in zip(dyn_onnx, dyn_labels) if int(np.argmax(y[0])) == l)
    print(f"  dynamic ONNX (If chain) {best['dynamic onnx'] * 1000:9.1f} us/image in onnxruntime vs static ONNX "
          f"{best['onnxruntime'] * 1000:.1f}: speedup {best['onnxruntime'] / best['dynamic onnx']:.2f}x "
          f"(MAC reduction {static_macs / onnx_macs:.2f}x); exits per stage {onnx_exits}, labels equal to the dynamic C's on {same}/{n}")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
    except OSError:
        pass
    # Which of s2dc's kernels can run: its AVX-512 ones (interpreter and trainer convolutions, the
    # emitted C's 512-bit tiles under -march=native) need AVX-512F as the CPU reports it, which
    # many virtual machines hide; without it the portable paths (im2col + OpenBLAS) run.
    # (s2dc_same_conv_available asks for AVX-512F alone; S2DC_NO_SAME_CONV turns the kernels off.)
    if "avx512f" not in cpu_flags():
        simd = "no AVX-512F reported: s2dc's AVX-512 kernels off, portable paths"
    elif "S2DC_NO_SAME_CONV" in os.environ:
        simd = "AVX-512F, but S2DC_NO_SAME_CONV is set: s2dc's AVX-512 kernels off, portable paths"
    else:
        simd = "AVX-512F: s2dc's AVX-512 kernels run"
    return f"{model}, {os.cpu_count()} logical CPUs visible, {simd}"


def s2dc_training_rate(s2dc, model, steps, threads, tmp):
    """Images/s of `s2dc train`'s second epoch of `steps` steps (the first is the warm-up)."""
    import re
    out = os.path.join(tmp, "t.onnx")
    cmd = [s2dc, "train", model, "--data", "fashion-mnist", "--epochs", "2", "--batch-size", "128",
           "--threads", str(threads), "--limit-train", str(128 * steps), "--limit-test", "1", "--lr", "0.05",
           "--schedule", "constant", "--warmup-epochs", "0", "-o", out]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr}")
    m = re.search(r"epoch 2/2: .*?([0-9.]+) images/s", proc.stderr)
    if not m:
        sys.exit(f"bench: no throughput in: {proc.stderr}")
    return float(m.group(1))


def torch_training_rate(name, steps, threads):
    """Images/s of scripts/torch-train-bench.py (same network, batch and optimizer), or None
    without torch."""
    cmd = [sys.executable, os.path.join(HERE, "torch-train-bench.py"), name, "--steps", str(steps), "--warmup", "3",
           "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {proc.stderr}")
    fields = dict(f.split("=", 1) for f in proc.stdout.split() if "=" in f)
    return float(fields["images_per_second"]), fields.get("torch", "?")


def bench_training(s2dc, work, repeat, steps=12):
    """`s2dc train` against PyTorch's CPU training of the same two networks, alternating, each
    after a warm-up; the best of the rounds, with the range, since other load only slows a run."""
    import importlib.util
    import tempfile
    models = ["resnet20", "mobilenetv2"]
    missing = [m for m in models if not os.path.exists(os.path.join(work, f"{m}.onnx"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(HERE, "make-bench-models.py"), work] + missing, check=True)
    have_torch = importlib.util.find_spec("torch") is not None
    rounds, threads = max(1, min(repeat, 3)), 2
    print(f"training: batch 128, {threads} threads each, SGD with Nesterov momentum, forward + backward + step, "
          f"{steps} steps after a warm-up, best of {rounds} alternating rounds [range]; ratio = s2dc / torch (higher is better)")
    print(f"  on {machine()}, load average {os.getloadavg()[0]:.1f} at the start")
    if not have_torch:
        print("  torch is not installed in this Python (make bench installs it into .venv-bench): s2dc alone")
    print(f"  {'model':<12} {'torch img/s':>20} {'s2dc img/s':>20} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            model = os.path.join(work, f"{name}.onnx")
            ours, theirs, version = [], [], None
            for _ in range(rounds):
                if have_torch:
                    rate, version = torch_training_rate(name, steps, threads)
                    theirs.append(rate)
                ours.append(s2dc_training_rate(s2dc, model, steps, threads, tmp))
            def cell(rates):
                return f"{max(rates):6.0f} [{min(rates):.0f}-{max(rates):.0f}]" if rates else "-"
            ratio = f"{max(ours) / max(theirs):6.2f}" if theirs else "     -"
            print(f"  {name:<12} {cell(theirs):>20} {cell(ours):>20} {ratio}")
        if have_torch:
            print(f"  torch {version}; load average {os.getloadavg()[0]:.1f} at the end")


def bench_peer(s2dc, work, python, epochs, pretrain, model, train_images=None, finetune=2):
    """Issue 15's peer beside `s2dc convert`: the PyTorch uniform partition trained `epochs` epochs,
    and convert on the very same static model (the peer's pre-trained weights when `pretrain` > 0)
    with as many epochs in all (supernet epochs - finetune, then `finetune` epochs of the chosen
    configuration alone), the same validation split (5000 images, seed 0) and budget 0.2."""
    if not python:
        sys.exit("bench: the peer section needs a Python with torch: --torch-python or S2DC_TORCH_PYTHON")
    if epochs < 2:
        sys.exit("bench: --peer-epochs must be at least 2 (convert trains the supernet, then fine-tunes)")
    os.makedirs(work, exist_ok=True)
    static = os.path.join(os.path.abspath(work), "peer-static.onnx")
    cmd = [python, os.path.join(HERE, "bench-peer-uniform.py"), "--epochs", str(epochs),
           "--pretrain-epochs", str(pretrain), "--json", os.path.join(work, "peer.json"),
           "--validation-fraction", str(5000 / 60000), "--seed", "0", "--save-pretrained", static]
    if model:
        cmd += ["--model", model]
    if train_images:
        cmd += ["--limit-train", str(train_images)]
    print(f"peer: PyTorch uniform partition (0.25, 0.5), {epochs} epochs from the model's weights "
          f"({pretrain} static pre-training epochs), 2 threads", flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stdout}")
    for line in proc.stdout.splitlines():
        if line.startswith(("static model", "PyTorch peer", "thresholds", "exit ", "  1", "  2", "  3")):
            print("  " + line)
    import json
    with open(os.path.join(work, "peer.json")) as f:
        peer = json.load(f)

    out = os.path.join(os.path.abspath(work), "peer-convert")
    supernet_epochs, finetune = epochs - min(finetune, epochs - 1), min(finetune, epochs - 1)
    convert = [s2dc, "convert", static, "--data", "fashion-mnist", "--budget", "0.2", "-o", out,
               "--epochs", str(supernet_epochs), "--finetune-epochs", str(finetune), "--validation-size", "5000", "--seed", "0"] + (["--train-images", str(train_images)] if train_images else [])
    if os.path.exists(out):  # the peer has just re-trained the static model: start afresh
        subprocess.run(["rm", "-rf", out], check=True)
    print(f"s2dc convert on the same static model: {supernet_epochs} supernet + {finetune} fine-tuning epochs", flush=True)
    start = time.time()
    proc = subprocess.run(convert, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seconds = time.time() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(convert)} failed:\n{proc.stdout}")
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    macs = report["static_model"]["macs"]
    origin = f"pre-trained {pretrain} ep in PyTorch" if pretrain else os.path.basename(model or "resnet20.onnx")
    rows = [(f"static model ({origin})", report["static_model"]["test_accuracy"], 1.0, None),
            (f"PyTorch peer, uniform 0.25/0.5, {epochs} ep", peer["accuracy"], peer["mean_macs_fraction"], peer["timings"]["train_s"]),
            ("s2dc convert, searched (dynamic C)", report["dynamic_model"]["test_accuracy"],
             report["dynamic_model"]["mean_macs"] / macs, sum(p["seconds"] for p in report["phases"]))]
    rows += [(f"s2dc baseline: {b['name']}", b["test_accuracy"], b["mean_macs"] / macs, None)
             for b in report["baselines"] if not b.get("not_run")]
    print(f"  {'model':<44} {'test accuracy':>13} {'mean MACs':>10} {'wall time':>10}")
    for name, acc, frac, secs in rows:
        wall = f"{secs / 60:.1f} min" if secs is not None else "-"
        print(f"  {name:<44} {100 * acc:12.2f}% {100 * frac:9.1f}% {wall:>10}")
    for b in report["baselines"]:
        if b.get("not_run"):
            print(f"  s2dc baseline: {b['name']}: not run ({b['not_run']})")
    print(f"  s2dc - peer: {100 * (rows[2][1] - rows[1][1]):+.2f} pt at {100 * rows[2][2]:.1f}% vs {100 * rows[1][2]:.1f}% of static MACs; "
          f"convert's wall time {seconds / 60:.1f} min this call (phases in {out}/report.json)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s2dc", required=True, help="path to the s2dc binary (release build)")
    parser.add_argument("--work", default=".cache/bench", help="folder for generated benchmark models")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200, help="timed runs per model in the backend section")
    parser.add_argument("--dynamic-images", type=int, default=10000, help="test images in the dynamic section")
    parser.add_argument("--dynamic-convert", help="dynamic section: an s2dc convert output folder to bench as it is "
                        "(default: convert models/default.onnx with the demo's settings, cached per binary and model)")
    parser.add_argument("--train-steps", type=int, default=12, help="timed steps per training run")
    parser.add_argument("--only", choices=["import", "runtime", "backend", "dynamic", "canonicalize", "training", "peer"], help="run one section")
    parser.add_argument("--torch-python", default=os.environ.get("S2DC_TORCH_PYTHON"), help="a Python with torch (peer)")
    parser.add_argument("--peer-epochs", type=int, default=4)
    parser.add_argument("--peer-pretrain-epochs", type=int, default=0)
    parser.add_argument("--peer-model", help="ONNX model for the peer (default: the bench ResNet-20)")
    parser.add_argument("--peer-train-images", type=int, help="train the peer and convert on the first N training images only")
    args = parser.parse_args()
    s2dc = os.path.abspath(args.s2dc)
    if args.only in (None, "import"):
        bench_import(s2dc, args.work, args.repeat)
    if args.only in (None, "runtime"):
        bench_runtime(s2dc, args.work, max(args.repeat, 20))
    if args.only in (None, "backend"):
        bench_backend(s2dc, os.path.abspath(args.work), max(args.runs, 1))
    if args.only in (None, "canonicalize"):
        bench_canonicalize(s2dc, args.work, args.repeat)
    if args.only in (None, "dynamic"):
        bench_dynamic(s2dc, os.path.abspath(args.work), args.dynamic_images,
                      args.dynamic_convert and os.path.abspath(args.dynamic_convert))
    if args.only in (None, "training"):
        bench_training(s2dc, args.work, args.repeat, max(1, args.train_steps))
    if args.only == "peer":  # never in the default run: it trains for a long time
        bench_peer(s2dc, args.work, args.torch_python, args.peer_epochs, args.peer_pretrain_epochs, args.peer_model,
                   args.peer_train_images)


if __name__ == "__main__":
    main()

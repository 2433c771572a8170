"""Writes bench/results.md from the JSON records bench/run leaves in bench/out."""
import glob
import json
import os
import statistics
import sys
from datetime import datetime, timezone

repeats, steps, dirs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]

# Goals from the performance issue: step-time ratio per (model, threads), RSS ratio.
TIME_GOAL = {("text", 2): 0.5, ("text", 1): 0.6, ("image", 2): 0.6, ("image", 1): 0.6,
             ("transformer", 2): 0.6, ("transformer", 1): 0.6,
             ("translate", 2): 0.6, ("translate", 1): 0.6, ("vnmt", 2): 0.6, ("vnmt", 1): 0.6,
             ("vnmt-emb", 2): 0.6, ("vnmt-emb", 1): 0.6}
RSS_GOAL = {"text": 0.25, "image": 0.25, "transformer": 0.3}  # the translation issue sets none
FLOOR_GOAL = {"transformer": 1.4}  # step time over the GEMM-only floor measured in the same process
NAME = {"text": "sentence VAE", "image": "image VAE", "transformer": "Transformer VAE",
        "translate": "translation, attention", "vnmt": "translation, VNMT",
        "vnmt-emb": "translation, VNMT, --posterior embeddings"}
MODELS = ("text", "image", "transformer", "translate", "vnmt", "vnmt-emb")


def load(out, pattern):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, pattern)))]


def ours(r):
    return r["median_ms"], r["peak_rss_mib"], r["throughput"], r.get("floor_ratio", float("nan"))


def theirs(r):
    unit = "examples_per_s" if r["script"] == "image_vae.py" else "tokens_per_s"
    return r["timing"]["median_ms"], r["peak_rss_mib"], r[unit]


def median(values):
    return statistics.median(values) if values else float("nan")


tf = [json.load(open(p)) for d in dirs for p in glob.glob(os.path.join(d, "tapegrad_transformer_*.json"))]
transformer_steps = " The Transformer VAE runs %d steps per side." % tf[0]["steps"] if tf else ""
tr = [json.load(open(p)) for d in dirs for p in glob.glob(os.path.join(d, "tapegrad_translate_*.json")) +
      glob.glob(os.path.join(d, "tapegrad_vnmt*.json"))]
if tr:
    transformer_steps += (" The translation models (Bible corpus, bucketed batches of 64 pairs) run %d steps per side."
                          % tr[0]["steps"])

print("# Benchmarks: tapegrad against the PyTorch reference\n")
print("Written by `bench/run` on %s UTC: %d repetitions of %d training steps per side and setting, the two sides"
      " alternating (A B, then B A) in one run. Timed region per step: forward + loss + backward + Adam update, batch"
      " already built, first 20 steps excluded; per run the median step time, across runs the median of those."
      " Peak RSS: the whole process's maximum resident set (getrusage). GEMM-only floor: the matrix products of ten"
      " of tapegrad's timed steps, recorded and replayed alone through the same kernels in the same process"
      " (`vae_step`'s floor_ratio: those steps' time over their products' time).%s\n"
      % (datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), repeats, steps, transformer_steps))
print("Both sides always run the same OpenBLAS library with the same kernels (they inherit OPENBLAS_CORETYPE). Each"
      " section below is one kernel setting: first the one the environment sets (or OpenBLAS chooses, when"
      " OPENBLAS_CORETYPE is unset), then, on a CPU with AVX-512, the other family of x86 kernels (AVX-512 \"SkylakeX\""
      " or AVX2 \"Haswell\"). Ratios are shown to three decimals so that one just above a goal never reads as equal.")
def section(out):
    core_env = open(os.path.join(out, "env.txt")).read().split("OPENBLAS_CORETYPE: ")[-1].strip()
    records = load(out, "tapegrad_*.json")
    core = records[0].get("blas_core", "?") if records else "?"
    how = "chosen by OpenBLAS, OPENBLAS_CORETYPE unset" if core_env.startswith("(unset") else "OPENBLAS_CORETYPE=" + core_env
    busy = "busy core: 1" in open(os.path.join(out, "env.txt")).read()
    print("\n## OpenBLAS kernels: %s (%s)%s\n" % (core, how, ", one core held busy" if busy else ""))
    if busy:
        print("A busy loop (`python3 -c 'while True: pass'`) held one of the cores for the whole measurement, as"
              " another program would on a shared machine. The question here is whether a side's 2-thread step is"
              " still no slower than its own 1-thread step (table after the main one).\n")
    # A setting may come from an earlier run (BENCH_ONLY), so each says when it was measured.
    when = [datetime.fromtimestamp(os.path.getmtime(os.path.join(out, f)), timezone.utc)
            for f in ("loadavg_start.txt", "loadavg_end.txt")]
    print("Measured %s to %s UTC.\n" % (when[0].strftime("%Y-%m-%d %H:%M"), when[1].strftime("%H:%M")))
    print("| model | threads | tapegrad ms/step | PyTorch ms/step | time ratio (goal) | tapegrad over its GEMM-only floor (goal) | tapegrad peak RSS MiB | PyTorch peak RSS MiB | RSS ratio (goal) | throughput tapegrad / PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    detail = []
    for model in MODELS:
        for t in (2, 1):
            a = [ours(r) for r in load(out, "tapegrad_%s_t%d_r*.json" % (model, t))]
            b = [theirs(r) for r in load(out, "torch_%s_t%d_r*.json" % (model, t))]
            if not a or not b:
                continue
            ta, tb = median([x[0] for x in a]), median([x[0] for x in b])
            ra, rb = median([x[1] for x in a]), median([x[1] for x in b])
            qa, qb = median([x[2] for x in a]), median([x[2] for x in b])
            fa = median([x[3] for x in a])
            g, rg, fg = TIME_GOAL[(model, t)], RSS_GOAL.get(model), FLOOR_GOAL.get(model)
            unit = "examples/s" if model == "image" else "tokens/s"
            floor = "%.2f" % fa + (" (%.1f, %s)" % (fg, "met" if fa <= fg else "missed") if fg else "")
            rss = "**%.3f** (%.2f, %s)" % (ra / rb, rg, "met" if ra / rb <= rg else "missed") if rg else "%.3f" % (ra / rb)
            print("| %s | %d | %.2f | %.2f | **%.3f** (%.1f, %s) | %s | %.0f | %.0f | %s | %.0f / %.0f %s |" % (
                NAME[model], t, ta, tb, ta / tb, g, "met" if ta / tb <= g else "missed", floor,
                ra, rb, rss, qa, qb, unit))
            detail.append((model, t, [x[0] for x in a], [x[0] for x in b]))

    if busy:
        print("\n2 threads against 1 with one core busy (each side's median step time; goal for tapegrad: 2 threads"
              " no slower than 1):\n")
        print("| model | tapegrad 2t / 1t ms | ratio | PyTorch 2t / 1t ms | ratio |")
        print("|---|---|---|---|---|")
        for model in MODELS:
            two = [d for d in detail if d[0] == model and d[1] == 2]
            one = [d for d in detail if d[0] == model and d[1] == 1]
            if two and one:
                a2, b2, a1, b1 = median(two[0][2]), median(two[0][3]), median(one[0][2]), median(one[0][3])
                # Slower, but the runs' ranges overlap: within this machine's noise.
                overlap = min(two[0][2]) <= max(one[0][2])
                verdict = "met" if a2 <= a1 else "within the runs' spread" if overlap else "missed"
                print("| %s | %.2f / %.2f (runs %s / %s) | **%.3f** (%s) | %.2f / %.2f | %.3f |" % (
                    NAME[model], a2, a1, ", ".join("%.2f" % x for x in two[0][2]), ", ".join("%.2f" % x for x in one[0][2]),
                    a2 / a1, verdict, b2, b1, b2 / b1))

    print("\nPer-run medians (ms/step), in run order:\n")
    for model, t, a, b in detail:
        print("- %s, %d thread(s): tapegrad %s; PyTorch %s" % (model, t, ", ".join("%.2f" % x for x in a), ", ".join("%.2f" % x for x in b)))

    micro = {}
    for t in (1, 2):
        p = os.path.join(out, "micro_t%d.json" % t)
        if os.path.exists(p):
            # The median of each benchmark's repetitions (plain runs when it was not repeated).
            runs = json.load(open(p))["benchmarks"]
            medians = [b for b in runs if b.get("aggregate_name") == "median"]
            micro[t] = {b["run_name"]: b for b in medians} if medians else {b["name"]: b for b in runs}
    if micro:
        print("\n### Op micro-benchmarks (`build/bench/micro`)\n")
        print("matmul through the tape against a raw `cblas_sgemm` of the same shape ([M, K] x [K, N]), run by OpenBLAS"
              " alone on its own pool of the same number of threads (at 2 threads the tape's products are split over"
              " tapegrad's own two threads instead); forward + backward is three GEMMs of that size (the product and both"
              " input gradients), compared with the same three raw calls. Each side runs as its own benchmark"
              " (\"separate\": ratio of the two medians over 10 repetitions). At 1 thread the two sides are also timed"
              " back to back in one loop on the same operands (\"paired\": median over 10 repetitions of summed raw time"
              " over summed tape time), which cancels the host's drift between repetitions; at 2 threads pairing would"
              " interleave two thread pools and is not run. Ratios are the tape's rate over the raw rate (goal: at least"
              " 0.95).\n")
        print("| M x K x N | threads | raw sgemm GFLOP/s | tape forward GFLOP/s | ratio separate | ratio paired"
              " | raw x3 GFLOP/s | tape fwd+bwd GFLOP/s | ratio separate | ratio paired |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for t, m in sorted(micro.items()):
            for shape in ("128/784/400", "32/256/768", "800/256/10000"):
                def counter(name, key):  # a counter of benchmark `name` on this shape, or None
                    b = next((v for k, v in m.items() if k.startswith("%s/%s/" % (name, shape))), None)
                    return b.get(key) if b else None
                def rate(name):
                    r = counter(name, "GFLOP/s")
                    return float("nan") if r is None else r
                def paired(name):
                    r = counter(name, "ratio")
                    return "-" if r is None else "%.3f" % r
                r1, f1, r3, f3 = rate("BM_sgemm_raw"), rate("BM_matmul_tape_forward"), rate("BM_sgemm_raw_three"), rate("BM_matmul_tape_forward_backward")
                print("| %s | %d | %.0f | %.0f | %.3f | %s | %.0f | %.0f | %.3f | %s |" % (
                    shape.replace("/", " x "), t, r1, f1, f1 / r1, paired("BM_paired_forward"), r3, f3, f3 / r3,
                    paired("BM_paired_forward_backward")))
        m = micro.get(1, {})
        def ns(name):
            b = m.get(name)
            return b["real_time"] if b else float("nan")
        raw, untracked, recorded = ns("BM_add_small_raw_xtensor"), ns("BM_add_small_untracked"), ns("BM_add_small_recorded")
        chain = m.get("BM_tape_chain_per_op")
        print("\nTape bookkeeping on small tensors (`add` on [32, 16], 1 thread): the arithmetic alone (xtensor) %.0f ns;"
              " through a Tensor without recording %.0f ns; recorded on the tape %.0f ns. Recording costs %.0f ns per op over the"
              " untracked call and %.0f ns over the bare arithmetic (goal: at most 1000 ns)." % (raw, untracked, recorded, recorded - untracked, recorded - raw))
        if chain:
            print("A chain of 201 small recorded ops, forward and backward: %.2f us per op." % (1e6 / chain["items_per_second"]))

    print("\n### Machine\n")
    print("```")
    print(open(os.path.join(out, "env.txt")).read().strip())
    print("OpenBLAS kernels in use: %s" % core)
    print("load average at start: %s" % open(os.path.join(out, "loadavg_start.txt")).read().strip())
    print("load average at end:   %s" % open(os.path.join(out, "loadavg_end.txt")).read().strip())
    print("```")
    print("\nBoth sides run on the same OpenBLAS library with the same kernels (OPENBLAS_CORETYPE above, inherited by"
          " both). The machine is shared: the ratios, measured side by side, are the numbers to read; absolute times drift"
          " with its load.")

for d in dirs:
    section(d)

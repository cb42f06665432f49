"""Retrieval throughput: skelzoo's chunked exact cosine k-NN vs scikit-learn's brute-force cosine kNN.

The paper's reference evaluated 1-NN retrieval with ``KNeighborsClassifier(metric="cosine",
algorithm="brute")``. This benchmark times both on the same random problem (default: 100,000
gallery features of 2,048 dimensions, the seq encoder's size; 2,000 queries), checks that they
return the same neighbours, and reports queries per second and the peak extra memory of the
search (peak RSS during the search minus RSS before it, measured in a fresh subprocess per method
so the two do not share a high-water mark).

    python benchmarks/retrieval.py                       # the full problem
    python benchmarks/retrieval.py --gallery 20000       # quicker
    python benchmarks/retrieval.py --device cuda         # skelzoo on the GPU (sklearn is CPU only)

scikit-learn is needed for the comparison only (``pip install scikit-learn``); without it the
comparison is skipped with a message. It is not a skelzoo dependency.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0) so VmHWM measures only what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _problem(n_gallery: int, n_query: int, dim: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    gallery = rng.standard_normal((n_gallery, dim), dtype=np.float32)
    # Queries near gallery items, so the neighbours are meaningful and well separated.
    picks = rng.integers(0, n_gallery, n_query)
    query = gallery[picks] + 0.5 * rng.standard_normal((n_query, dim), dtype=np.float32)
    labels = rng.integers(0, 60, n_gallery)
    return gallery, query, labels


def _run(method: str, args: dict, out: mp.Queue) -> None:
    import numpy as np

    gallery, query, labels = _problem(args["gallery"], args["queries"], args["dim"], args["seed"])
    if method == "skelzoo":
        import torch

        torch.set_num_threads(args["threads"])
        from skelzoo.eval.knn import cosine_topk

        def search():
            nb = cosine_topk(query, gallery, k=args["k"], device=args["device"],
                             query_chunk=args["query_chunk"], gallery_chunk=args["gallery_chunk"])
            return nb.indices
        search_small = lambda: cosine_topk(query[:8], gallery[:1000], k=args["k"], device=args["device"])  # noqa: E731
    else:
        from sklearn.neighbors import KNeighborsClassifier

        clf = KNeighborsClassifier(n_neighbors=args["k"], metric="cosine", algorithm="brute")
        clf.fit(gallery, labels)

        def search():
            return clf.kneighbors(query, return_distance=False)
        search_small = lambda: clf.kneighbors(query[:8], return_distance=False)  # noqa: E731
    search_small()  # warm-up: thread pools, CUDA context, lazy imports
    base = _rss_kib("VmRSS")
    exact_peak = _reset_peak()
    t0 = time.perf_counter()
    idx = search()
    elapsed = time.perf_counter() - t0
    peak = _rss_kib("VmHWM")
    gpu_peak = None
    if method == "skelzoo" and args["device"].startswith("cuda"):
        import torch

        gpu_peak = torch.cuda.max_memory_allocated() / 2**20
    out.put({"method": method, "seconds": elapsed, "queries_per_s": args["queries"] / elapsed,
             "peak_extra_mib": max(0, peak - base) / 1024, "peak_is_exact": exact_peak,
             "gpu_peak_mib": gpu_peak, "indices": np.asarray(idx)[:, 0].tolist()})


def measure(method: str, args: dict) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_run, args=(method, args, q))
    p.start()
    result = q.get()
    p.join()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gallery", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2_000)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="skelzoo's device: cpu, cuda, auto")
    ap.add_argument("--query-chunk", type=int, default=2048)
    ap.add_argument("--gallery-chunk", type=int, default=16384)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    a = ap.parse_args(argv)
    import torch

    args = {k: getattr(a, k) for k in ("gallery", "queries", "dim", "k", "device", "query_chunk", "gallery_chunk", "seed")}
    args["threads"] = a.threads or torch.get_num_threads()
    print(f"problem: {a.gallery} gallery x {a.queries} queries, {a.dim}-d float32, k={a.k}; "
          f"skelzoo on {a.device}, {args['threads']} CPU threads", file=sys.stderr)
    results = [measure("skelzoo", args)]
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("scikit-learn is not installed: skipping the comparison (pip install scikit-learn).", file=sys.stderr)
    else:
        results.append(measure("sklearn", args))
    for r in results:
        gpu = f", GPU peak {r['gpu_peak_mib']:.0f} MiB" if r["gpu_peak_mib"] is not None else ""
        print(f"{r['method']:>8}: {r['seconds']:7.2f} s  {r['queries_per_s']:10.1f} queries/s  "
              f"peak extra RSS {r['peak_extra_mib']:7.0f} MiB{gpu}", file=sys.stderr)
    summary = {"problem": {k: args[k] for k in ("gallery", "queries", "dim", "k", "device", "threads")},
               "results": [{k: v for k, v in r.items() if k != "indices"} for r in results]}
    if len(results) == 2:
        same = sum(x == y for x, y in zip(results[0]["indices"], results[1]["indices"])) / a.queries
        speedup = results[0]["queries_per_s"] / results[1]["queries_per_s"]
        summary.update({"speedup": speedup, "same_top1_neighbour": same})
        print(f"speed-up {speedup:.1f}x; same nearest neighbour for {same * 100:.2f}% of queries", file=sys.stderr)
    if a.json:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run skelzoo's benchmark scripts and write benchmarks/RESULTS.md from what they print.

Each benchmark runs as a subprocess with its own arguments; its stdout is kept verbatim in
``benchmarks/results/<name>.txt`` beside ``<name>.meta.json`` (command, machine, date, wall time,
exit status). RESULTS.md is then assembled from every stored section, so ``--only NAME`` reruns one
benchmark and keeps the others' sections. No figure in RESULTS.md is typed by hand.

    python benchmarks/run_all.py                      # everything whose script exists
    python benchmarks/run_all.py --only proof-synth   # rerun one, keep the rest
    python benchmarks/run_all.py --assemble           # rebuild RESULTS.md from stored sections
    python benchmarks/run_all.py --list
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from skelzoo.device import machine_info

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
REPORT = HERE / "RESULTS.md"

# name -> (script, arguments, one line on what it measures). Order = order in RESULTS.md.
BENCHMARKS: dict[str, tuple[str, list[str], str]] = {
    "proof-synth": ("proof.py", ["--data", "synth"],
                    "The paper's ablations on the synthetic set (random init / intra MoCo without and with "
                    "augmentation / inter seq+stg), 1-NN and linear probe, 3 seeds."),
    "proof-mocap": ("proof.py", ["--data", "mocap"],
                    "The same ablations on real human motion: DeepMimic mocap clips (pybullet wheel, zlib "
                    "licence) mapped to NTU-25, with simulated subjects, views and tempo. Every clip of a class "
                    "comes from the same single performance, so x-view is easy (raw joints already nearly solve "
                    "it) and x-sub tests invariance to body and tempo, not to how different people act."),
    "proof-checks": ("proof.py", ["--table", "benchmarks/results/proof-synth.json", "benchmarks/results/proof-mocap.json"],
                     "The two full runs above re-printed from their JSON by the current proof.py, whose checks "
                     "call a difference no larger than the seed std 'within noise' (added after those runs)."),
    "proof-synth-intra-long": ("proof.py", ["--data", "synth", "--benchmarks", "xview", "--seeds", "1", "--epochs", "48",
                                            "--configs", "random-seq,intra-seq-noaug,intra-seq-aug",
                                            "--out", "benchmarks/results/proof-synth-intra-48ep.json"],
                               "Investigation: does intra-skeleton MoCo on seq move away from random init with 6x "
                               "the epochs (48 instead of 8)? Synthetic x-view, 1 seed (stg left out: it is the cost)."),
    "proof-synth-intra-lr0.1": ("proof.py", ["--data", "synth", "--benchmarks", "xview", "--seeds", "1", "--epochs", "24",
                                             "--lr", "0.1", "--configs", "random-seq,intra-seq-noaug,intra-seq-aug",
                                             "--out", "benchmarks/results/proof-synth-intra-lr0.1.json"],
                                "Investigation: intra-skeleton MoCo on seq with 10x the learning rate (0.1) and 24 "
                                "epochs. Synthetic x-view, 1 seed."),
    "train_throughput": ("train_throughput.py", ["--width", "0.0625", "--batch", "32", "--steps", "4"],
                         "Pretraining throughput of the real training step (clips/s), seq+stg at width 1/16."),
    "augment_throughput": ("augment_throughput.py", [], "Batched augmentation vs a per-sample numpy implementation."),
    "extract_throughput": ("extract_throughput.py", ["--batch", "16"],
                           "Feature extraction: PyTorch eager vs ONNX Runtime, paper width."),
    "retrieval": ("retrieval.py", [], "Chunked exact cosine k-NN vs scikit-learn brute force."),
    "ntu_parse": ("ntu_parse.py", [], "NTU .skeleton parsing speed vs a line-by-line parser."),
}

GPU_NOTE = (
    "**GPU.** No GPU was lent to the session that produced this report, so the issue's GPU item "
    "(pretraining seq+stg at paper width in bf16 on the synthetic set, clips/s and memory) is not "
    "measured here. Every figure below is from CPU runs."
)


def run_one(name: str, threads: int | None, extra: list[str], timeout: float | None) -> dict:
    script, args, _ = BENCHMARKS[name]
    path = HERE / script
    cmd = [sys.executable, str(path.relative_to(ROOT)), *args, *extra]
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    shown = ("OMP_NUM_THREADS=" + str(threads) + " " if threads else "") + "python " + " ".join(cmd[1:])
    meta = {"name": name, "command": shown, "machine": machine_info(threads),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    print(f"== {name}: {shown}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    # stderr (progress, logs) is passed through live and its tail kept; stdout is the report.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_chunks: list[str] = []
    reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer:
        timer.start()
    err_lines: list[str] = []
    for line in proc.stderr:
        sys.stderr.write(line)
        sys.stderr.flush()
        err_lines.append(line.rstrip("\n"))
    err_tail = err_lines[-15:]
    rc = proc.wait()
    if timer:
        timer.cancel()
        if time.perf_counter() - t0 >= timeout:
            rc = "timeout"
            err_tail.append(f"killed after the {timeout:.0f} s timeout")
    reader.join()
    stdout, stderr = "".join(out_chunks), "\n".join(err_tail)
    meta["wall_s"] = round(time.perf_counter() - t0, 1)
    meta["returncode"] = rc
    if rc != 0:
        meta["stderr_tail"] = "\n".join((stderr or "").strip().splitlines()[-15:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.txt").write_text(stdout)
    # some scripts print their figures on stderr; kept whole, shown when stdout is empty
    (RESULTS / f"{name}.stderr.txt").write_text("\n".join(err_lines) + ("\n" if err_lines else ""))
    (RESULTS / f"{name}.meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"   {name}: exit {rc} in {meta['wall_s']:.0f} s", file=sys.stderr, flush=True)
    return meta


def section(name: str) -> str:
    script, _, what = BENCHMARKS[name]
    meta_path, out_path = RESULTS / f"{name}.meta.json", RESULTS / f"{name}.txt"
    head = f"## {name}\n\n{what}\n"
    if not (HERE / script).is_file() and not meta_path.is_file():
        return head + f"\n_Not run: benchmarks/{script} does not exist yet._\n"
    if not meta_path.is_file():
        return head + f"\n_Not run yet: `python benchmarks/run_all.py --only {name}`._\n"
    meta = json.loads(meta_path.read_text())
    m = meta["machine"]
    lines = [head,
             f"- command: `{meta['command']}`",
             f"- machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['threads']} threads, "
             f"Python {m['python']}; load average when it started: {m.get('load_avg')} (a shared machine: "
             "other processes ran at the same time, so timings are noisy)",
             f"- date: {meta['date']}; wall time {meta['wall_s']:.0f} s; exit status {meta['returncode']}",
             ""]
    text = out_path.read_text().rstrip() if out_path.is_file() else ""
    err_path = RESULTS / f"{name}.stderr.txt"
    if not text and err_path.is_file() and err_path.read_text().strip():
        lines.append("(printed on stderr)")
        lines.append("")
        text = err_path.read_text().rstrip()
    lines += ["```", text or "(no output)", "```"]
    if meta["returncode"] != 0 and meta.get("stderr_tail"):
        lines += ["", "stderr (last lines):", "", "```", meta["stderr_tail"], "```"]
    return "\n".join(lines) + "\n"


def assemble() -> Path:
    parts = [
        "# skelzoo benchmark results",
        "",
        "Generated by `python benchmarks/run_all.py` from the stored outputs in `benchmarks/results/`; "
        "every figure is printed by a script (the command is given per section), none is typed in. "
        "Rerun one section with `--only NAME`.",
        "",
        GPU_NOTE,
        "",
    ]
    for name in BENCHMARKS:
        parts.append(section(name))
    REPORT.write_text("\n".join(parts))
    return REPORT


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--only", action="append", default=[], metavar="NAME", help="run only these (repeatable)")
    ap.add_argument("--skip", action="append", default=[], metavar="NAME", help="do not run these (repeatable)")
    ap.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS for every benchmark (0: leave as is)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default: none)")
    ap.add_argument("--arg", action="append", default=[], metavar="NAME=ARGS",
                    help="extra arguments for one benchmark, e.g. --arg 'proof-synth=--seeds 1'")
    ap.add_argument("--assemble", action="store_true", help="only rebuild RESULTS.md from stored sections")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, (script, a, what) in BENCHMARKS.items():
            there = "" if (HERE / script).is_file() else "  (script missing)"
            print(f"{name:<20} {script} {' '.join(a)}{there}\n{'':<20} {what}")
        return 0
    for name in [*args.only, *args.skip]:
        if name not in BENCHMARKS:
            print(f"error: unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}.", file=sys.stderr)
            return 2
    extra: dict[str, list[str]] = {}
    for item in args.arg:
        name, _, rest = item.partition("=")
        if name not in BENCHMARKS:
            print(f"error: --arg {item!r}: unknown benchmark {name!r}.", file=sys.stderr)
            return 2
        extra.setdefault(name, []).extend(rest.split())
    failed = 0
    if not args.assemble:
        names = args.only or [n for n in BENCHMARKS if n not in args.skip]
        for name in names:
            script = BENCHMARKS[name][0]
            if not (HERE / script).is_file():
                print(f"== {name}: benchmarks/{script} does not exist; skipped", file=sys.stderr)
                continue
            meta = run_one(name, args.threads or None, extra.get(name, []), args.timeout)
            failed += meta["returncode"] != 0
    path = assemble()
    print(f"wrote {path}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

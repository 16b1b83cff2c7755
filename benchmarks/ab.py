"""The one-sample edit (the pre-commit case) of this worktree against another revision, in turns.

    python benchmarks/ab.py REV [--samples 20000] [--runs 12] [--work /tmp/thinklint-ab]

For judging a change to the cached path, whose whole run takes 0.4 s and drifts by a tenth on a
shared machine: `benchmarks/run.py` measures one tree, and comparing its figures across runs
measures the machine. Here REV is exported (`git archive`) beside the worktree, both trees' bytecode
is compiled first (as pip leaves an installed package: where PYTHONDONTWRITEBYTECODE is set, a tree
without bytecode compiles thinklint in every run, about 0.1 s, which once made an unchanged edited
run look a fifth faster than the tree it was compared with), each tree's cold run leaves the cache
its edited runs start from, and the edited runs alternate, every other turn backwards. Prints each
tree's minimum and median wall time and median CPU time (the process and the children it waited
for), and whether the two trees printed the same report.
"""

from __future__ import annotations

import argparse
import compileall
import io
import resource
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from statistics import median

from run import ROOT, dataset, edit_one_sample, thinklint


def export(rev: str, work: Path) -> Path:
    """REV's tree under `work` (kept between runs: a commit's tree does not change)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"], check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = work / f"rev-{sha[:12]}"
    if not (tree / "thinklint").is_dir():
        shutil.rmtree(tree, ignore_errors=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", sha], check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12 and later
                tar.extractall(tree, filter="data")
            else:  # this repository's own archive
                tar.extractall(tree)
    return tree


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rev", help="the git revision to compare the worktree with (a commit, a branch, HEAD~1)")
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=12, help="edited runs of each tree")
    ap.add_argument("--work", type=Path, default=Path("/tmp/thinklint-ab"))
    args = ap.parse_args(argv)
    trees = {"worktree": ROOT, args.rev: export(args.rev, args.work)}
    for tree in trees.values():
        compileall.compile_dir(str(tree / "thinklint"), quiet=1)
    source = dataset(args.work, args.samples)
    original = (source / "data.jsonl").read_bytes()
    edited = edit_one_sample(original)
    folders: dict[str, Path] = {}
    for i, (name, tree) in enumerate(trees.items()):
        folder = folders[name] = args.work / f"edit-{i}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".thinklint_cache"))
        took = thinklint([], folder, root=tree)[0]  # cold: leaves the cache every edited run starts from
        shutil.copytree(folder / ".thinklint_cache", folder / "saved-cache")
        print(f"{name}: cold run {took:.2f} s")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    reports: dict[str, set[str]] = {name: set() for name in trees}
    for turn in range(args.runs):
        for name in (list(trees) if turn % 2 == 0 else list(reversed(trees))):
            folder = folders[name]
            shutil.rmtree(folder / ".thinklint_cache")
            shutil.copytree(folder / "saved-cache", folder / ".thinklint_cache")
            (folder / "data.jsonl").write_bytes(edited)  # written after the cache: newer than its entry
            cpu = _cpu()
            took, _, out = thinklint(["data.jsonl"], folder, root=trees[name])  # as pre-commit calls it
            times[name].append((took, _cpu() - cpu))
            reports[name].add(out)
    print(f"one sample edited, {args.samples:,} samples, {args.runs} runs each in turns:")
    for name, got in times.items():
        walls = sorted(w for w, _ in got)
        print(f"  {name:<12} wall min {walls[0]:.3f} s  median {median(walls):.3f} s | "
              f"CPU median {median(c for _, c in got):.3f} s")
    same = len({frozenset(r) for r in reports.values()}) == 1 and all(len(r) == 1 for r in reports.values())
    print(f"  same report: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""The command line: click parses flags into immutable settings, one function per command runs.

Every command turns user mistakes (a bad spec, a missing file) into a one-line message and
exit code 2; a bug shows a traceback only with --verbose.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from thinklint import __version__
from thinklint.app import EXIT_ERROR, UsageError, run_check
from thinklint.reporters import FORMATS
from thinklint.settings import Settings
from thinklint.yamlsrc import SourceError

F = TypeVar("F", bound=Callable[..., Any])

#: the spec's files must resolve inside the repository root (thinklint.confine) unless this is given
ALLOW_OUTSIDE_ROOT = click.option(
    "--allow-outside-root", is_flag=True,
    help="Let the spec name files outside the repository root (the nearest folder with .git).")


def _fail(message: str) -> None:
    # one line, whatever a message quotes from the user's files
    click.echo(f"thinklint: error: {' '.join(message.splitlines())}", err=True)
    sys.exit(EXIT_ERROR)


class _Terminated(BaseException):
    """SIGTERM, raised where the program is, so that cleanup (atomic_write's temporary file) runs."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def guarded(fn: F) -> F:
    """Map expected failures to exit 2 with a clear message; bugs too, traceback only with -v.

    SIGINT and SIGTERM stop the run through exceptions rather than killing the process outright,
    so that no temporary or half-written file is left behind (exit 130 and 143, as a shell would).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = bool(click.get_current_context().find_root().params.get("verbose"))
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
        try:
            return fn(*args, **kwargs)
        except (SourceError, UsageError) as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            click.echo("thinklint: interrupted", err=True)
            sys.exit(130)
        except _Terminated:
            click.echo("thinklint: terminated", err=True)
            sys.exit(143)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            sys.exit(EXIT_ERROR)
        except Exception as exc:
            if verbose:
                raise
            _fail(f"internal error: {exc!r} (run with --verbose for a traceback)")
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)

    return wrapper  # type: ignore[return-value]


def _codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(c.strip().upper() for c in value.split(",") if c.strip())


def _color(output_file: str | None) -> bool:
    if output_file or os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="thinklint")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for internal errors.")
def main(verbose: bool) -> None:
    """Lint fine-tuning datasets for reasoning (thinking) LLMs."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="The spec (default: found upward).")
@click.option("--select", help="Rule codes or prefixes to enable, comma-separated (replaces the spec's).")
@click.option("--ignore", help="Rule codes or prefixes to disable, comma-separated.")
@click.option("--extend-select", help="Rule codes or prefixes to enable on top of the selection.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("--statistics", is_flag=True, help="Show counts per rule instead of each finding.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when errors are found.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), help="Hide findings recorded here.")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Record the current findings as the baseline.")
@click.option("--trust-remote-code", is_flag=True, help="Allow tokenizers with custom code (off by default).")
@click.option("--max-line-bytes", type=click.IntRange(min=1024),
              help="Longest JSONL line or JSON array element to load (default 64 MiB).")
@click.option("--max-views", type=click.IntRange(min=0), default=200, show_default=True,
              help="--format html: samples whose token view the report includes.")
@click.option("--fix", is_flag=True, help="Apply safe fixes to the data files, then report what remains.")
@click.option("--unsafe-fixes", is_flag=True,
              help="Include fixes that may change what a sample means (with --fix or --diff).")
@click.option("--diff", is_flag=True,
              help="Print the fixes as a unified diff instead of writing them; exit 1 if there is a diff.")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Worker processes (default: one per CPU; fewer when the input is small).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write .thinklint_cache/.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="ray: shards as Ray tasks (pip install 'thinklint[ray]'; RAY_ADDRESS for a cluster).")
@ALLOW_OUTSIDE_ROOT
@guarded
def check(paths: tuple[str, ...], config: Path | None, select: str | None, ignore: str | None,
          extend_select: str | None, output_format: str, output_file: str | None, statistics: bool,
          exit_zero: bool, baseline: Path | None, write_baseline: Path | None, trust_remote_code: bool,
          max_line_bytes: int | None, max_views: int, fix: bool, unsafe_fixes: bool, diff: bool,
          jobs: int | None, no_cache: bool, engine: str, allow_outside_root: bool) -> None:
    """Check the spec's datasets (or just PATHS, as pre-commit passes them)."""
    settings = Settings(
        config=config, paths=paths, select=_codes(select), ignore=_codes(ignore) or (),
        extend_select=_codes(extend_select) or (), output_format=output_format,
        output_file=Path(output_file) if output_file else None, statistics=statistics, exit_zero=exit_zero,
        baseline=baseline, write_baseline=write_baseline,
        verbose=bool(click.get_current_context().find_root().params.get("verbose")),
        color=_color(output_file), trust_remote_code=trust_remote_code, max_line_bytes=max_line_bytes,
        max_views=max_views, fix=fix, unsafe_fixes=unsafe_fixes, diff=diff, jobs=jobs, use_cache=not no_cache,
        engine=engine, allow_outside_root=allow_outside_root,
    )
    sys.exit(run_check(settings))


@main.group("cache")
def cache_group() -> None:
    """The incremental cache (.thinklint_cache/ beside the spec)."""


@cache_group.command("clean")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="The spec (default: found upward).")
@guarded
def cache_clean(config: Path | None) -> None:
    """Remove the cache of this project."""
    from thinklint.cache import CACHE_DIR, cache_root, clean
    from thinklint.spec import find_spec

    if config is not None and not config.is_file():  # a cache beside a spec that is not there is no cache to guess at
        raise SourceError(str(config), None, "", "spec file not found")
    path = config or find_spec(Path.cwd())
    root = cache_root(load_spec_light(path)) if path is not None else Path.cwd() / CACHE_DIR
    click.echo(f"removed {root}" if clean(root) else f"no cache at {root}")


def load_spec_light(path: Path) -> Any:
    """The spec, for its folder only: a spec with errors still has a cache that can be removed."""
    from types import SimpleNamespace

    from thinklint.fsutil import real
    from thinklint.spec import load_spec

    try:
        return load_spec(path, remember=False)
    except SourceError:
        return SimpleNamespace(root=real(path).parent)


@main.command("check-spec")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@ALLOW_OUTSIDE_ROOT
@guarded
def check_spec(files: tuple[Path, ...], allow_outside_root: bool) -> None:
    """Validate spec files alone (their datasets are not read)."""
    from thinklint.app import load_profile, prepare
    from thinklint.spec import load_spec

    failed = False
    for path in files:
        try:
            spec = load_spec(path, allow_outside_root=allow_outside_root)
            prepare(spec, Settings())
            load_profile(spec)
            click.echo(f"{path}: ok")
        except SourceError as exc:
            click.echo(f"thinklint: error: {' '.join(str(exc).splitlines())}", err=True)
            failed = True
    sys.exit(EXIT_ERROR if failed else 0)


@main.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text")
@guarded
def rules_cmd(output_format: str) -> None:
    """List every rule (`dryrun`: runs only under `thinklint dryrun`, it needs a model)."""
    from thinklint.catalog import all_rules

    rules = all_rules()
    if output_format == "json":
        click.echo(json.dumps([{"code": r.code, "name": r.name, "category": r.category, "severity": r.severity,
                                "fixable": r.fixable, "stage": r.stage, "summary": r.summary}
                               for r in rules.values()], indent=2))
        return
    if output_format == "markdown":
        click.echo("| code | name | category | severity | fix | what it catches |\n|---|---|---|---|---|---|")
        for r in rules.values():
            summary = r.summary.replace("|", "\\|")
            click.echo(f"| {r.code} | {r.name} | {r.category} | {r.severity} | {r.fixable} | {summary} |")
        return
    for r in rules.values():
        fix = {"safe": "fix", "unsafe": "fix*"}.get(r.fixable, "")
        stage = "dryrun" if r.stage == "dryrun" else ""
        click.echo(f"{r.code}  {r.name:<30} {r.category:<16} {r.severity:<8} {fix:<4} {stage:<6}  {r.summary}")


@main.command("rule")
@click.argument("code")
@guarded
def rule_cmd(code: str) -> None:
    """Explain one rule (CODE or its name)."""
    from thinklint.catalog import all_rules
    from thinklint.ruledoc import explain

    rules = all_rules()
    wanted = code.upper()
    rule = rules.get(wanted) or next((r for r in rules.values() if r.name == code.lower()), None)
    if rule is None:
        raise UsageError(f"unknown rule {code!r}; `thinklint rules` lists them")
    click.echo(explain(rule), nl=False)


@main.command("profiles")
@click.option("--detect", "detect_target", type=click.Path(exists=True, path_type=Path),
              help="Detect the family of a chat template file or tokenizer folder.")
@guarded
def profiles_cmd(detect_target: Path | None) -> None:
    """List the model-family profiles, or detect one from a chat template."""
    from thinklint.profiles import builtin_profiles

    if detect_target is not None:
        from thinklint.detect import detect_path

        try:
            detection = detect_path(detect_target)
        except (OSError, ValueError) as exc:  # no template in that folder or file
            said = str(exc)  # most name the file already (`detect.read_chat_template`)
            raise UsageError(said if str(detect_target) in said else f"{detect_target}: {said}") from None
        click.echo(detection.describe())
        sys.exit(0 if detection.profile else 1)
    profiles = builtin_profiles()
    width = max(len(n) for n in profiles)
    for name, p in profiles.items():
        click.echo(f"{name:<{width}}  {p.summary}")


@main.command("render")
@click.argument("file")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="The spec (default: found upward).")
@click.option("--sample", "sample", type=click.IntRange(min=0), help="Only the sample with this 0-based index.")
@click.option("--trust-remote-code", is_flag=True, help="Allow tokenizers with custom code (off by default).")
@ALLOW_OUTSIDE_ROOT
@guarded
def render_cmd(file: str, config: Path | None, sample: int | None, trust_remote_code: bool,
               allow_outside_root: bool) -> None:
    """Print what the spec's trainer trains for each sample of FILE, as JSON lines.

    Each line: path, line, sample, input_ids, labels (-100 where masked) and segments
    (kind prompt|reasoning|empty_think|answer|eot, turn = index of the assistant message,
    start/end token offsets, end exclusive), after truncation.
    """
    from thinklint.app import locate_spec
    from thinklint.render import run_render

    settings = Settings(config=config, trust_remote_code=trust_remote_code,
                        allow_outside_root=allow_outside_root)
    sys.exit(run_render(locate_spec(config, allow_outside_root), settings, file, sample, sys.stdout))


@main.command("show")
@click.argument("target", metavar="FILE[:LINE]")
@click.option("--sample", "sample", type=click.IntRange(min=0), help="The sample with this 0-based index.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="The spec (default: found upward).")
@click.option("--select", help="Rule codes or prefixes to run, comma-separated (replaces the spec's).")
@click.option("--ignore", help="Rule codes or prefixes not to run, comma-separated.")
@click.option("--ids", is_flag=True, help="Show each token's id.")
@click.option("--full", is_flag=True, help="Show every token of long segments (default: their ends).")
@click.option("--plain/--color", "plain", default=None,
              help="Plain text or colours (default: colours on a terminal, plain text otherwise).")
@click.option("--trust-remote-code", is_flag=True, help="Allow tokenizers with custom code (off by default).")
@ALLOW_OUTSIDE_ROOT
@guarded
def show_cmd(target: str, sample: int | None, config: Path | None, select: str | None, ignore: str | None,
             ids: bool, full: bool, plain: bool | None, trust_remote_code: bool,
             allow_outside_root: bool) -> None:
    """Show what the trainer trains in one sample, and the sample's findings.

    FILE:LINE picks a JSONL line; FILE --sample N the N-th sample (0-based) of any file.
    Trained tokens (they take loss) are marked '+' or green, masked ones '-' or grey; special
    tokens sit in ⟪ ⟫. Without model.tokenizer the sample's turns and think blocks are shown.
    """
    from thinklint.app import locate_spec
    from thinklint.show import ShowOptions, run_show

    if plain is None and os.environ.get("NO_COLOR"):
        plain = True
    settings = Settings(config=config, select=_codes(select), ignore=_codes(ignore) or (),
                        trust_remote_code=trust_remote_code, allow_outside_root=allow_outside_root)
    spec = locate_spec(config, allow_outside_root)
    sys.exit(run_show(spec, settings, target, sample, ShowOptions(ids=ids, full=full, plain=plain)))


@main.command("dryrun")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="The spec (default: found upward).")
@click.option("--model", "model_ref", required=True,
              help="A local model folder or a hub id (AutoModelForCausalLM; HF_HUB_OFFLINE is honoured).")
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="How many samples, in spec order (or of the --sample files).")
@click.option("--sample", "targets", multiple=True,
              help="FILE:LINE (one JSONL line) or FILE (its first samples); repeatable.")
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu"]), default="auto", show_default=True,
              help="auto: CUDA when available, else the CPU.")
@click.option("--dtype", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True,
              help="auto: bf16 on CUDA, fp32 on the CPU.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Samples per forward pass (default: sized to fit).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--trust-remote-code", is_flag=True, help="Allow models and tokenizers with custom code (off by default).")
@click.option("--no-progress", is_flag=True, help="No progress bar (it is shown only on a terminal anyway).")
@ALLOW_OUTSIDE_ROOT
@guarded
def dryrun_cmd(config: Path | None, model_ref: str, samples: int, targets: tuple[str, ...], device: str, dtype: str,
               batch_size: int | None, output_format: str, trust_remote_code: bool, no_progress: bool,
               allow_outside_root: bool) -> None:
    """Run samples through the real model and confirm the masked loss.

    For each sample, the trainer's (input_ids, labels) go through the model in a forward pass
    (torch.inference_mode; padded batches, right padding). thinklint confirms that the model's own
    loss equals an independent recomputation (shifted cross-entropy over the supervised tokens,
    mean over them), that some token takes loss, that masked positions contribute nothing, and
    that the prompt and the empty think block take loss only as the spec's policy says; it
    prints the loss per segment (prompt, empty think, reasoning, answer, end of turn). Findings
    are reported as by `check` (category mask); exit 1 when one is an error.
    """
    from thinklint.dryrun.run import run_dryrun
    from thinklint.dryrun.settings import DryrunSettings

    tty = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    settings = DryrunSettings(
        model=model_ref, config=config, samples=samples, targets=targets, device=device, dtype=dtype,
        batch_size=batch_size, output_format=output_format, trust_remote_code=trust_remote_code,
        allow_outside_root=allow_outside_root,
        color=output_format == "text" and (tty or bool(os.environ.get("FORCE_COLOR"))),
        progress=not no_progress and sys.stderr.isatty(),
    )
    sys.exit(run_dryrun(settings))


if __name__ == "__main__":  # pragma: no cover
    main()

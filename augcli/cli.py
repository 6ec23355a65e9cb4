"""The `augcli` command: parse options, call one core function, render its result, pick the exit code.

Heavy modules (albumentations, cv2, pydantic) are imported inside commands, so `augcli --help`
stays fast and never imports albumentations.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from augcli import __version__
from augcli.errors import AugcliError, ExitCode, Stopped
from augcli.text import progress_line, render_run, render_stats, render_tree


class _Group(TyperGroup):
    """Turns every failure into one line on stderr and a named exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        argv = kwargs.get("args") or (args[0] if args else None) or sys.argv[1:]
        try:
            rv = super().main(*args, **kwargs)
        except KeyboardInterrupt as exc:  # outside parsing and the command (those raise Stopped, below)
            stopped = Stopped.by(exc)
            _fail(str(stopped), stopped.exit_code)
        except AugcliError as exc:
            if "--traceback" in argv:
                raise
            _fail(str(exc), exc.exit_code)
        except Exception as exc:
            # Typer's own usage errors (bad option, missing argument) carry these two attributes.
            if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
                raise
            ctx = getattr(exc, "ctx", None)
            _fail(exc.format_message().splitlines()[0], ExitCode.INVALID, ctx)
        sys.exit(rv if isinstance(rv, int) else 0)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        """Ctrl-C (or SIGTERM) while parsing or in a command is one line and exit 130 (143): typer
        would turn it into a silent exit 130."""
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise Stopped.by(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Stopped.by(exc) from None


def _fail(message: str, code: int, ctx: Any = None) -> NoReturn:
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None and "--help" not in message else ""
    typer.echo(f"augcli: error: {message}{hint}", err=True)
    sys.exit(int(code))


_CHOICES: dict[str, tuple[str, str]] = {  # option -> (module, attribute): the registry that lists its choices
    "layout": ("augcli.datasets.folders", "LAYOUTS"),
    "to": ("augcli.datasets.registry", "conversion_targets"),
    "split": ("augcli.stats", "SPLIT_CHOICES"),
}


class _Command(TyperCommand):
    """Help in one style: an option's choices from the registry that owns them (looked up only when help
    is shown, so importing the cli stays light), arguments by their name alone (no Python type)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        import importlib

        for param in self.params:
            if isinstance(param, typer.core.TyperArgument):
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
            elif param.name in _CHOICES and param.metavar is None:
                module, attr = _CHOICES[param.name]
                found = getattr(importlib.import_module(module), attr)
                param.metavar = "[" + "|".join(found() if callable(found) else found) + "]"
        super().format_help(ctx, formatter)


app = typer.Typer(
    cls=_Group,
    help="Augment image datasets on disk from a YAML recipe, labels kept true.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"augcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    traceback: bool = typer.Option(False, "--traceback", help="Show a Python traceback on errors (for bug reports)."),
) -> None:
    """augcli: validate-recipe, preview, run."""


# --------------------------------------------------------------------------- validate-recipe


@app.command("validate-recipe", cls=_Command)
def validate_recipe(
    recipes: list[Path] = typer.Argument(..., metavar="RECIPE", help="Recipe files (or preset names) to check."),
    strict: bool = typer.Option(False, "--strict", help="Treat lint warnings as failures (exit 1)."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable report on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print problems only, not the pipeline tree."),
) -> int:
    """Report every problem in each recipe as file:line:col, then show the resolved pipeline."""
    from augcli.recipe import check_recipe, resolve_recipe_arg

    reports = [(arg, check_recipe(resolve_recipe_arg(arg))) for arg in recipes]
    code = ExitCode.OK
    for _, report in reports:
        if report.errors:
            code = ExitCode.INVALID
        elif report.warnings and strict and code == ExitCode.OK:
            code = ExitCode.FAILURES
    if as_json:
        typer.echo(
            json.dumps({"valid": code == ExitCode.OK, "recipes": [_report_json(a, r) for a, r in reports]}, indent=2)
        )
        return int(code)
    for arg, report in reports:
        for problem in report.problems:
            typer.echo(problem.format(), err=True)
        if report.recipe is not None and not quiet:
            typer.echo(render_tree(report.recipe))
            if report.labels:
                typer.echo(f"  labels: {report.labels}")
        n_err, n_warn = len(report.errors), len(report.warnings)
        verdict = "invalid" if n_err else ("valid" if not (n_warn and strict) else "valid, but warnings fail --strict")
        typer.echo(
            f"{arg}: {verdict} ({n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)})",
            err=True,
        )
    return int(code)


def _report_json(arg: Path, report: Any) -> dict[str, Any]:
    recipe = report.recipe
    return {
        "file": str(arg),
        "valid": not report.errors,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "problems": [p.to_json() for p in report.problems],
        "recipe": None if recipe is None else {**recipe.data, "hash": recipe.hash},
        "labels": report.labels,
    }


# --------------------------------------------------------------------------- presets / init


@app.command("presets", cls=_Command)
def presets() -> None:
    """List the bundled domain presets."""
    from augcli.recipe import preset_names, preset_path
    from augcli.yamlloc import load_yaml

    for name in preset_names():
        data = load_yaml(preset_path(name).read_text(encoding="utf-8"), name).data or {}
        typer.echo(
            f"{name:<12} {str(data.get('description', '')).strip().splitlines()[0] if data.get('description') else ''}"
        )


@app.command("formats", cls=_Command)
def formats() -> None:
    """The label formats augcli reads and writes, with the kinds of labels each carries."""
    from augcli.text import render_formats

    typer.echo(render_formats())


@app.command("init", cls=_Command)
def init(
    path: Path = typer.Argument(Path("recipe.yaml"), metavar="PATH", help="Where to write the new recipe."),
    preset: str = typer.Option(
        ..., "--preset", "-p", metavar="NAME", help="Preset to start from (see `augcli presets`)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a starting recipe from a preset (writing to out/PRESET beside it) and its editor schema."""
    from augcli.recipe import init_recipe_text
    from augcli.schema import modeline, write_schema_beside
    from augcli.store.local import atomic_write_text

    if path.exists() and not force:
        raise AugcliError("file exists; pass --force to overwrite it", path)
    atomic_write_text(path, f"{modeline()}\n{init_recipe_text(preset, path)}")
    schema_file = write_schema_beside(path)
    typer.echo(
        f"wrote {path} from preset '{preset}' and its editor schema {schema_file}; "
        f"check it with: augcli validate-recipe {path}",
        err=True,
    )


@app.command("schema", cls=_Command)
def schema(
    out: Path | None = typer.Option(
        None, "--output", "-o", "--out", metavar="FILE", help="File to write; default: the schema on stdout."
    ),
) -> None:
    """The recipe format as a JSON Schema (draft-07), for editors' YAML language servers."""
    from augcli.schema import schema_text, write_schema

    if out is None:
        typer.echo(schema_text(), nl=False)
        return
    write_schema(out)
    typer.echo(
        f"wrote {out}; a recipe uses it with the first line: # yaml-language-server: $schema=<path from the recipe>",
        err=True,
    )


# --------------------------------------------------------------------------- run


def _load(recipe_arg: Path, *, online: bool = False, reads_input: bool = True) -> Any:
    """A valid recipe, or every located error at once (exit 2) — the same text validate-recipe shows.

    `online`: for a training loop (export), so model-input steps such as Normalize are allowed.
    `reads_input=False`: the command line named the data (or none is read), so `input:` is not checked.
    """
    from augcli.errors import UsageError
    from augcli.recipe import check_recipe, resolve_recipe_arg

    report = check_recipe(
        resolve_recipe_arg(recipe_arg), lint=False, for_disk=not online, check_input=reads_input and not online
    )
    if report.recipe is None:
        for problem in report.problems:
            typer.echo(problem.format(), err=True)
        n = len(report.errors)
        raise UsageError(f"invalid recipe: {n} error{'s' * (n != 1)}, listed above", recipe_arg)
    return report.recipe


_SCHEDULER = typer.Option(
    None,
    "--scheduler",
    metavar="ADDRESS",
    help="With --executor dask: an existing scheduler's address (tcp://host:8786).",
)
_BATCH_SIZE = typer.Option(
    None,
    "--batch-size",
    min=1,
    metavar="N",
    help="With --executor dask: jobs per task (default: sized to ~0.25 s of work).",
)
_STORAGE_OPTION = typer.Option(
    None, "--storage-option", metavar="KEY=VALUE", help="Passed to the remote filesystem (repeatable)."
)


def _executor_options(scheduler: str | None, batch_size: int | None) -> dict[str, Any]:
    """Only what was given: an executor refuses options it does not take (--scheduler without dask)."""
    return {k: v for k, v in {"scheduler": scheduler, "batch_size": batch_size}.items() if v is not None}


def _notice(line: str) -> None:
    typer.echo(f"augcli: {line}", err=True)


@app.command("run", cls=_Command)
def run(
    recipe: Path = typer.Argument(..., metavar="RECIPE", help="Recipe file or preset name."),
    input: str | None = typer.Option(
        None,
        "--input",
        "-i",
        metavar="DIR|URL",
        help="Dataset folder or URL (s3://, gs://, az://, ...; overrides the recipe's input).",
    ),
    output: str | None = typer.Option(
        None, "--output", "-o", metavar="DIR|URL", help="Output folder or URL (overrides the recipe's)."
    ),
    workers: int = typer.Option(
        0, "--workers", "-w", min=0, metavar="N", help="Worker processes; 0 = all cores, 1 = in-process."
    ),
    shard: str | None = typer.Option(
        None, "--shard", metavar="I/N", help="Process shard I of N (0 <= I < N) for array jobs."
    ),
    resume: bool = typer.Option(
        True, "--resume/--no-resume", help="Skip outputs a previous run of this recipe finished."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace another recipe's outputs in the output folder."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be written; write nothing."),
    layout: str = typer.Option("auto", "--layout", help="How the dataset's folders are arranged."),
    to: str = typer.Option(
        "same", "--to", help="Label format to write: same (as read), or a format `augcli formats` can write (converts)."
    ),
    lossy: bool = typer.Option(
        False, "--lossy", help="Let --to drop the kinds of label its format cannot hold (counted in run.json)."
    ),
    executor: str = typer.Option(
        "local",
        "--executor",
        metavar="NAME",
        help="Where jobs run: local (a process pool here), threads, or dask (augcli[dask]).",
    ),
    scheduler: str | None = _SCHEDULER,
    batch_size: int | None = _BATCH_SIZE,
    storage_option: list[str] | None = _STORAGE_OPTION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar; only the summary and errors."),
) -> int:
    """Augment a dataset: train split gets preprocess + augment; val/test get preprocess only."""
    from augcli.executors import local

    local.claim_process()
    if workers != 1 and not dry_run:
        local.prestart()  # a worker server imports albumentations while this process does (if it cannot fork)
    from augcli.errors import UsageError
    from augcli.plan import parse_shard
    from augcli.runner import RunOptions, run_dataset
    from augcli.store import as_location, parse_storage_options

    loaded = _load(recipe, reads_input=input is None)
    source = input or loaded.input
    target = output or loaded.output
    if source is None or target is None:
        missing = "input" if source is None else "output"
        raise UsageError(f"no {missing} folder: set `{missing}:` in the recipe or pass --{missing}")
    options = RunOptions(
        input=as_location(source),
        output=as_location(target),
        workers=workers,
        shard=parse_shard(shard) if shard else None,
        resume=resume,
        overwrite=overwrite,
        dry_run=dry_run,
        layout=layout,
        to=to,
        lossy=lossy,
        executor=executor,
        executor_options=_executor_options(scheduler, batch_size),
        storage_options=parse_storage_options(storage_option or []),
    )
    bar: Any = None

    def on_start(total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if not sys.stderr.isatty():
            bar = _PlainProgress(loaded.name, total)
            return
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread to outlive the run
        bar = tqdm(total=total, unit="output", desc=loaded.name, file=sys.stderr, dynamic_ncols=True)

    try:
        report = run_dataset(
            loaded,
            options,
            progress=lambda n: bar.update(n) if bar else None,
            on_start=on_start,
            notice=lambda line: bar.write(f"augcli: {line}", file=sys.stderr) if bar else _notice(line),
        )
    finally:
        if bar is not None:
            bar.close()
    typer.echo(render_run(report))
    return int(report.exit_code)


class _PlainProgress:
    """Progress for logs that are not a terminal (CI): a plain line every few seconds, and one at the end."""

    EVERY_S = 5.0

    def __init__(self, name: str, total: int) -> None:
        import time

        self.name, self.total, self.done = name, total, 0
        self.started = self.last = time.monotonic()

    def update(self, n: int) -> None:
        import time

        self.done += n
        now = time.monotonic()
        if now - self.last >= self.EVERY_S:
            self.last = now
            typer.echo(progress_line(self.name, self.done, self.total, now - self.started), err=True)

    def close(self) -> None:
        import time

        typer.echo(progress_line(self.name, self.done, self.total, time.monotonic() - self.started), err=True)


# --------------------------------------------------------------------------- preview

_SHEET_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@app.command("preview", cls=_Command)
def preview(
    recipe: Path = typer.Argument(..., metavar="RECIPE", help="Recipe file or preset name."),
    images: list[Path] | None = typer.Argument(
        None,
        metavar="IMAGE_OR_FOLDER",
        help="Images or folders to show; default: --images sampled from the recipe's input.",
    ),
    copies: int | None = typer.Option(
        None,
        "--copies",
        "-n",
        min=1,
        max=64,
        metavar="N",
        help="Augmented copies per image (default: the recipe's, at most 8).",
    ),
    count: int = typer.Option(
        4, "--images", "-m", min=1, max=256, metavar="N", help="Images sampled from each folder."
    ),
    out: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        "--out",
        metavar="FILE",
        help="Contact sheet to write (.png/.jpg/.webp); default: preview.png, unless only --html is asked for.",
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        min=0,
        metavar="N",
        help="Seed for sampling and augmenting (default: the recipe's, which matches run).",
    ),
    per_transform: bool = typer.Option(
        False, "--per-transform", help="One row per augment step, applied alone (p=1), sampled and at range ends."
    ),
    html_file: Path | None = typer.Option(
        None,
        "--html",
        metavar="FILE",
        help="Write an HTML page (.html): every tile inline with its full parameters, and the recipe; one file.",
    ),
    input: Path | None = typer.Option(
        None, "--input", "-i", metavar="DIR", help="Dataset folder (overrides the recipe's input)."
    ),
    tile: int = typer.Option(
        256, "--tile", min=32, max=2048, metavar="PIXELS", help="Tile size in pixels (tiles are letterboxed)."
    ),
) -> int:
    """Show what `run` writes for a few images: the original, then copies 1..N, captioned with what fired."""
    from augcli.errors import UsageError
    from augcli.preview import PreviewOptions, make_preview

    if out is not None and out.suffix.lower() not in _SHEET_SUFFIXES:
        raise UsageError(f"--output must end in {', '.join(_SHEET_SUFFIXES)}", out)
    if html_file is not None and html_file.suffix.lower() not in (".html", ".htm"):
        raise UsageError("--html names the page to write and must end in .html", html_file)
    if out is None and html_file is None:
        out = Path("preview.png")
    loaded = _load(recipe, reads_input=input is None and not images)
    options = PreviewOptions(
        copies=copies,
        images=count,
        seed=seed,
        per_transform=per_transform,
        input=input,
        tile=tile,
        html=html_file is not None,
    )
    result = make_preview(loaded, images or [], options=options)
    for written in _write_preview(result, out, html_file):
        typer.echo(str(written))
    return int(ExitCode.OK)


def _write_preview(result: Any, out: Path | None, html_file: Path | None) -> list[Path]:
    """The only place preview output touches the disk, and only where asked; every file written atomically."""
    import numpy as np

    from augcli.imageio import write_image
    from augcli.store.local import atomic_write_text

    written = []
    if out is not None:
        write_image(out, np.asarray(result.sheet), quality=92)
        written.append(out)
    if html_file is not None and result.html is not None:
        atomic_write_text(html_file, result.html.text)
        written.append(html_file)
    return written


# --------------------------------------------------------------------------- stats


@app.command("stats", cls=_Command)
def stats(
    dataset: str = typer.Argument(..., metavar="DATASET", help="Dataset folder or URL (any layout run accepts)."),
    split: str = typer.Option(
        "train",
        "--split",
        help="Which images: train (default), val, test or all. Featurewise normalisation statistics must come from the "
        "training data only, or the validation score has seen the validation set.",
    ),
    workers: int = typer.Option(
        0, "--workers", "-w", min=0, metavar="N", help="Worker processes; 0 = all cores, 1 = in-process."
    ),
    sample: int | None = typer.Option(
        None, "--sample", min=1, metavar="K", help="Use K images drawn at random (seed 0)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON on stdout."),
    out: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        "--out",
        metavar="FILE",
        help="Write the JSON here (for load_pipeline(..., stats=) / export --stats).",
    ),
    layout: str = typer.Option("auto", "--layout", help="How the dataset's folders are arranged."),
    executor: str = typer.Option(
        "local", "--executor", metavar="NAME", help="Where jobs run: local (a process pool here), threads, or dask."
    ),
    scheduler: str | None = _SCHEDULER,
    batch_size: int | None = _BATCH_SIZE,
    storage_option: list[str] | None = _STORAGE_OPTION,
) -> int:
    """Per-channel mean and std (in [0, 1] units) and histogram percentiles of a dataset's images."""
    import os

    from augcli.executors import local
    from augcli.stats import SPLIT_CHOICES, compute_stats

    local.claim_process()
    if split not in SPLIT_CHOICES:
        from augcli.errors import UsageError

        raise UsageError(f"unknown split '{split}'; splits: {', '.join(SPLIT_CHOICES)}")
    n = workers or os.cpu_count() or 1
    if n > 1 and executor == "local":
        local.prestart()
    from augcli.store import as_location, parse_storage_options

    result = compute_stats(
        as_location(dataset),
        split=split,
        workers=n,
        sample=sample,
        layout=layout,
        executor_name=executor,
        executor_options=_executor_options(scheduler, batch_size),
        storage_options=parse_storage_options(storage_option or []),
        notice=_notice,
    )
    data = json.dumps(result.to_json(), indent=2) + "\n"
    if out is not None:
        from augcli.store.local import atomic_write_text

        atomic_write_text(out, data)
    for rel, reason in result.unreadable:
        typer.echo(f"augcli: warning: skipped unreadable {rel}: {reason}", err=True)
    typer.echo(data.rstrip("\n") if as_json else render_stats(result))
    return int(ExitCode.FAILURES if result.unreadable else ExitCode.OK)


# --------------------------------------------------------------------------- export


@app.command("export", cls=_Command)
def export(
    recipe: Path = typer.Argument(..., metavar="RECIPE", help="Recipe file or preset name."),
    split: str = typer.Option(
        ..., "--split", metavar="[train|eval]", help="train (preprocess + augment) or eval (preprocess only)."
    ),
    format: str = typer.Option(
        "albumentations",
        "--format",
        metavar="[albumentations]",
        help="albumentations: a file albumentations.load() reads back.",
    ),
    out: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        "--out",
        metavar="FILE",
        help="File to write (.json, or .yaml/.yml for YAML); default: JSON on stdout.",
    ),
    stats_file: Path | None = typer.Option(
        None, "--stats", metavar="FILE", help="A file from `augcli stats --output`: append Normalize with its mean/std."
    ),
) -> int:
    """Write the recipe as a pipeline file for a training loop (import augcli.transforms before loading it)."""
    from augcli.errors import UsageError
    from augcli.export import data_format_for, export_pipeline

    if split not in ("train", "eval"):
        raise UsageError(f"unknown split '{split}'; splits: train, eval")
    from augcli.api import mix_left_out

    note = mix_left_out(_load(recipe, online=True), split)  # located errors, as run shows them
    if note is not None:
        typer.echo(f"augcli: warning: {note}", err=True)
    text = export_pipeline(recipe, split=split, format=format, data_format=data_format_for(out), stats=stats_file)
    if out is None:
        typer.echo(text, nl=False)
    else:
        from augcli.store.local import atomic_write_text

        atomic_write_text(out, text)
        yaml_arg = ', data_format="yaml"' if data_format_for(out) == "yaml" else ""
        typer.echo(
            f"wrote {out}; load it with: import augcli.transforms; albumentations.load({str(out)!r}{yaml_arg})",
            err=True,
        )
    return int(ExitCode.OK)


def main() -> None:
    """The `augcli` command's entry point: this process may fork workers (see executors.local)."""
    from augcli.executors.local import mark_command_process

    mark_command_process()
    app(prog_name="augcli")  # also under `python -m augcli`: usage and completion name the command


if __name__ == "__main__":
    main()

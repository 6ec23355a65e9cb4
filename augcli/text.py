"""What the commands print: a report or result rendered as text (pure; the CLI echoes it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def render_tree(recipe: Any) -> str:
    """The resolved pipeline as a user reads it: sections, steps, probabilities, given parameters."""
    from augcli import registry

    lines = [f"{recipe.name}  (domain {recipe.domain}, seed {recipe.seed}, {recipe.copies} copies per image)"]
    if len(recipe.chain) > 1:
        lines.append("  extends: " + " <- ".join(_short(p) for p in recipe.chain))
    lines.append(f"  input:  {_short(recipe.input) if recipe.input else '(none; pass --input)'}")
    fmt = recipe.output_format + (
        f", quality {recipe.quality}" if recipe.output_format in ("jpg", "webp", "same") else ""
    )
    lines.append(f"  output: {_short(recipe.output) if recipe.output else '(none; pass --output)'}  ({fmt})")

    def step(spec: Any, depth: int) -> None:
        cls = registry.catalogue()[spec.name]
        p = spec.params.get("p", registry.default_p(cls))
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in spec.params.items() if k != "p")
        prob = f"  p={_fmt(p)}" if p is not None else ""
        lines.append(f"{'  ' * depth}- {spec.name}({params}){prob}")
        for child in spec.children or []:
            step(child, depth + 1)

    for section in ("preprocess", "augment"):
        specs = getattr(recipe, section)
        if section == "augment" and (recipe.mix.get("p_mixup") or recipe.mix.get("p_cutmix")):
            m = recipe.mix
            lines.append(
                f"  mix: MixUp p={_fmt(m['p_mixup'])} alpha={_fmt(m['mixup_alpha'])}, "
                f"CutMix p={_fmt(m['p_cutmix'])} alpha={_fmt(m['cutmix_alpha'])} (after augment, train only)"
            )
        lines.append(f"  {section}:" + ("  (none)" if not specs else ""))
        for spec in specs:
            step(spec, 2)
    return "\n".join(lines)


def _short(path: Path | str) -> str:
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("../../..") else str(path)


def _fmt(value: Any) -> str:
    from augcli.recipe import format_value

    return format_value(value)


def render_run(report: Any) -> str:
    lines = []
    if report.dry_run:
        lines.append(f"dry run: {report.input} ({report.layout} layout) -> {report.output}; nothing written")
        if getattr(report, "labels", None):
            lines.append(f"  labels: {report.labels}; they move with every spatial transform")
        for split, count in sorted(report.per_split.items()):
            classes = report.per_class.get(split, {})
            detail = ", ".join(f"{c} {n}" for c, n in sorted(classes.items()) if c != "-")
            lines.append(f"  {split:<6} {count:>7} outputs" + (f"  ({detail})" if detail else ""))
        lines.append(
            f"  total  {report.planned:>7} outputs from {report.sources} images, about {_mb(report.estimate_bytes)}"
        )
        lines.extend(f"  warning: {message}" for message in getattr(report, "warnings", []))
        return "\n".join(lines)
    lines.append(
        f"{report.written} written, {report.skipped} already done, {len(report.failures)} failed "
        f"in {report.elapsed:.1f} s ({report.throughput:.1f} outputs/s) -> {report.output}"
    )
    for split, count in sorted(report.per_split.items()):
        written = report.written_per_split.get(split, 0)
        lines.append(f"  {split}: {written} written" + (f" of {count} planned" if written != count else ""))
    if getattr(report, "labels", None) and report.label_counts:
        c = report.label_counts
        lines.append(
            f"  labels ({report.labels}): {c['objects']} objects written, {c['dropped']} dropped at the borders "
            f"(min_visibility/min_area), {c['clipped']} clipped and {c['invalid']} empty on input, "
            f"{c['hidden_keypoints']} keypoints outside (kept, v=0), {c['background_images']} background images"
        )
        lost = [f"{kind[len('lost_') :]} of {n}" for kind, n in c.items() if kind.startswith("lost_") and n]
        if lost:
            lines.append(f"  not carried by --to (--lossy): {', '.join(lost)} objects")
    for fail in report.failures:
        lines.append(f"  failed: {fail['source']}: {fail['reason']}")
    if getattr(report, "stopped", None):
        lines.append(f"  stopped: {report.stopped}")
    missing, count = getattr(report, "missing", []), getattr(report, "missing_count", 0)
    if count:
        shown = ", ".join(missing[:5]) + (" ..." if count > 5 else "")
        lines.append(
            f"  missing: {count} outputs the manifest lists are not in the output "
            f"(deleted while the run went?); run again to make them: {shown}"
        )
    if getattr(report, "lost_records", 0):
        lines.append(
            f"  missing: {report.lost_records} outputs written are not in the manifest "
            "(was it deleted while the run went?); run again to make them"
        )
    for message in getattr(report, "warnings", []):
        lines.append(f"  warning: {message}")
    for pair in report.leaks:
        lines.append(f"  warning: same image in several splits (leakage): {', '.join(pair)}")
    if report.ignored:
        shown = ", ".join(report.ignored[:5]) + (" ..." if len(report.ignored) > 5 else "")
        lines.append(f"  ignored {len(report.ignored)} non-image files: {shown}")
    return "\n".join(lines)


def progress_line(name: str, done: int, total: int, elapsed: float) -> str:
    """One line of progress for a log that is not a terminal (CI): no carriage returns, no bar."""
    rate = done / elapsed if elapsed > 0 else 0.0
    share = f" ({100 * done / total:.0f}%)" if total else ""
    left = f", about {(total - done) / rate:.0f} s left" if rate > 0 and done < total else ""
    return f"{name}: {done}/{total} outputs{share}, {rate:.1f}/s{left}"


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def render_stats(result: Any) -> str:
    names = ["R", "G", "B"] if result.channels == 3 else ["gray"]
    lines = [
        f"{result.images} images ({result.split} split{', sampled' if result.sampled else ''}) in {result.root}",
        f"  size:  {result.widths[0]}-{result.widths[1]} x {result.heights[0]}-{result.heights[1]} px; "
        + "modes: "
        + ", ".join(f"{m} {n}" for m, n in result.modes.items()),
        "  channel    mean     std      p1     p50     p99   (in [0, 1] units)",
    ]
    for name, ch in zip(names, result.per_channel, strict=True):
        p = ch.percentiles
        lines.append(f"  {name:<6} {ch.mean:7.4f} {ch.std:7.4f} {p['p1']:7.4f} {p['p50']:7.4f} {p['p99']:7.4f}")
    lines.append(f"  mean: [{', '.join(f'{m:.6f}' for m in result.mean)}]")
    lines.append(f"  std:  [{', '.join(f'{s:.6f}' for s in result.std)}]")
    if result.unreadable:
        lines.append(f"  skipped {len(result.unreadable)} unreadable files")
    return "\n".join(lines)


def render_formats() -> str:
    """One line per registered label format: name, title, what it carries, whether `--to` writes it."""
    from augcli.datasets.registry import format_names, get_format

    lines = []
    for name in format_names():
        fmt = get_format(name)
        kinds = ", ".join(sorted(fmt.kinds)) or "classes"
        target = "  (--to)" if fmt.target is not None else ""
        lines.append(f"{name:<9} {fmt.title}: {kinds}{target}")
    return "\n".join(lines)

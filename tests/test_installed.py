"""augcli installed from a wheel, used from another folder: every preset works without the repository.

The wheel is built as a user would (`pip wheel .`, an isolated build) and unpacked into a target
folder that shadows the editable install; its dependencies come from the test environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted(p.stem for p in (ROOT / "augcli" / "presets").glob("*.yaml"))
SAMPLE = {"fundus": "fundus/retina.jpg", "ocr": "ocr/text.png", "xray": "xray/camera.png"}
SAMPLE_SATELLITE = "satellite/soap_061.jpg"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A non-editable install of this checkout: the built wheel unpacked into a target folder."""
    work = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(ROOT), "--no-deps", "-w", str(work / "dist")], check=True, timeout=300)
    (wheel,) = (work / "dist").glob("augcli-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(work / "site"), str(wheel)], check=True, timeout=120)
    return work / "site"


def _tiny_dataset(folder: Path, preset: str) -> Path:
    """One image shaped like the preset's domain, downscaled so every preset runs in a moment."""
    rel = SAMPLE.get(preset, SAMPLE_SATELLITE if preset == "satellite" else "natural/train/animal/chelsea.jpg")
    folder.mkdir(parents=True)
    with Image.open(ROOT / "samples" / rel) as image:
        image.thumbnail((320, 320))
        image.save(folder / Path(rel).name)
    return folder


def test_every_preset_runs_from_a_wheel_in_another_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    for name in PRESETS:
        _tiny_dataset(elsewhere / "data" / name, name)
    (elsewhere / "mine.yaml").write_text("augcli: 1\nextends: natural\nname: mine\ncopies: 1\n", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import augcli, sys
        from augcli.cli import app
        assert augcli.__file__.startswith({str(installed)!r}), augcli.__file__

        def call(*argv):
            try:
                app(list(argv), prog_name="augcli")
            except SystemExit as exc:
                print("EXIT", exc.code or 0, *argv, flush=True)

        for name in {PRESETS!r}:
            call("validate-recipe", "--strict", "-q", name)
            call("run", name, "--input", "data/" + name, "--output", "out/" + name, "-w", "1", "-q")
            call("export", name, "--split", "train", "-o", name + ".json")
        call("init", "--preset", "natural", "started.yaml")
        call("validate-recipe", "-q", "started.yaml")
        call("preview", "natural", "--input", "data/natural", "--copies", "1", "-o", "sheet.png")
        call("run", "mine.yaml", "--input", "data/natural", "--output", "out/mine", "-w", "1", "-q")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    codes = re.findall(r"^EXIT (\d+) (.*)$", done.stdout, flags=re.MULTILINE)
    failed = [(code, argv) for code, argv in codes if code != "0"]
    assert not failed, f"{failed}\n{done.stderr}"
    assert len(codes) == 3 * len(PRESETS) + 4
    for name in PRESETS:
        written = list((elsewhere / "out" / name).glob("*.*g"))
        assert len(written) > 1, f"{name}: {written}"
        assert (elsewhere / f"{name}.json").is_file()
    assert (elsewhere / "sheet.png").is_file() and len(list((elsewhere / "out" / "mine").glob("*.jpg"))) == 2
    assert not (installed / "out").exists() and not (installed / "augcli" / "out").exists()


def _quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block, "the Quick start has a sh block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.startswith("augcli ")]


def test_readme_quick_start_works_as_written_after_make_demo(tmp_path: Path) -> None:
    """A clone where `make demo` already ran: the Quick start's commands, exactly, in order."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT / "recipes", clone / "recipes")
    shutil.copytree(ROOT / "samples" / "fundus", clone / "samples" / "fundus")
    shutil.copytree(ROOT / "samples" / "natural", clone / "samples" / "natural")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    make_demo = re.search(r"^demo:.*\n\t\$\(BIN\)/(augcli .*)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    assert make_demo, "the Makefile's demo target runs augcli"
    for command in [make_demo.group(1), *_quick_start()]:
        done = subprocess.run(command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    assert list((clone / "out" / "natural").glob("train/*/*.jpg")), "make demo wrote out/natural"
    assert (clone / "preview.png").is_file()
    runs = [c for c in _quick_start() if c.startswith("augcli run")]
    assert runs and all("--output" in c for c in runs)

"""Packaging: the wheel carries every subpackage and the samples, and runs outside a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _declared_packages() -> tuple[list[str], dict[str, str]]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return list(cfg["packages"]), dict(cfg.get("package-dir", {}))


def test_every_package_folder_is_declared() -> None:
    """pyproject lists packages by hand (app/ is renamed): a new folder must be added there."""
    declared, mapping = _declared_packages()
    found = set()
    for top in ("audiocodec", "psychoacoustics"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    for name, folder in mapping.items():
        if (ROOT / folder / "__init__.py").exists():
            found.add(name)
    assert found == set(declared)


@pytest.mark.slow
def test_wheel_installs_and_demo_runs_from_elsewhere(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(wheels), str(ROOT)], capture_output=True, text=True)
    if r.returncode != 0 and "bdist_wheel" in r.stderr:
        pytest.skip("the 'wheel' package is not installed (pip install -e '.[dev]')")
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("audiocodec-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(py), "-c", "import audiocodec, audiocodec_app, audiocodec.samples as s; "
                        "print(audiocodec.__file__); print(s.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(venv) in w for w in where), where  # the wheel's copy, not the checkout
    demo = subprocess.run([str(venv / "bin" / "audiocodec"), "demo", "--out", "out"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr
    assert "adaptive" in demo.stdout
    assert (work / "out" / "demo48_stereo.adaptive.wav").stat().st_size > 0

"""Installed from a wheel (not editable), caseworker still finds its policy, calendar and files.

data/ sits beside the package in the source tree; the wheel carries it inside the package as
caseworker/data, and caseworker.config.DATA_DIR looks in both places.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _listed() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return set(tomllib.load(handle)["tool"]["setuptools"]["packages"])


def test_every_package_of_the_source_tree_is_listed_for_the_wheel() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "caseworker").rglob("__init__.py")
    }
    found |= {"caseworker.store.migrations", "caseworker.store.migrations.versions"}
    found |= {"caseworker.data"} | {
        f"caseworker.data.{folder.name}" for folder in (ROOT / "data").iterdir() if folder.is_dir()
    }
    assert found == _listed()


def test_a_wheel_install_reads_the_data_shipped_inside_it(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "wheel"),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("caseworker-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    shipped = {
        p.relative_to(site / "caseworker" / "data")
        for p in (site / "caseworker" / "data").rglob("*")
        if p.is_file()
    }
    assert shipped == {
        p.relative_to(ROOT / "data") for p in (ROOT / "data").rglob("*") if p.is_file()
    }
    probe = (
        "import caseworker, caseworker.config as c\n"
        "from caseworker.services.rules import load_rules\n"
        "from caseworker.services.console_data import load_templates\n"
        "rules = load_rules(c.DATA_DIR / 'policy.toml', c.DATA_DIR / 'calendar.toml')\n"
        "print(caseworker.__file__); print(c.DATA_DIR); print(len(load_templates()))\n"
        "print(sorted(rules.policy.channels)[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    module, data_dir, templates, _ = done.stdout.splitlines()
    assert Path(module).is_relative_to(site)  # the wheel's copy, not the source tree's
    assert Path(data_dir) == site / "caseworker" / "data"
    assert int(templates) == len(list((ROOT / "data" / "reply_templates").glob("*.toml")))

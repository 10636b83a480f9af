"""The wheel carries every package of the console and the resources folder."""

import tomllib
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_console_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "console").rglob("__init__.py")
    }
    assert on_disk | {"sre_console_resources"} == listed


def test_resources_load_through_importlib() -> None:
    styles = files("sre_console_resources").joinpath("styles")
    assert {p.name for p in styles.iterdir()} >= {"dark.qss", "light.qss"}
    assert (
        files("sre_console_resources")
        .joinpath("icons", "app.svg")
        .read_text()
        .lstrip()
        .startswith("<")
    )

"""One version everywhere, a valid changelog, and the icon containers the bundle ships."""

import importlib.util
import re
import struct
import tomllib
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path
from types import ModuleType

from console import __version__

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "io.github.sre_console.SreConsole"
METAINFO = ROOT / "resources" / "linux" / f"{APP_ID}.metainfo.xml"
DESKTOP = ROOT / "resources" / "linux" / f"{APP_ID}.desktop"


def _make_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_icons", ROOT / "packaging" / "make_icons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_version_is_pyproject_s() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert __version__ == project["version"]


def test_the_metainfo_s_newest_release_is_the_package_version() -> None:
    component = ET.parse(METAINFO).getroot()
    releases = component.findall("./releases/release")
    assert releases, "the metainfo lists no release"
    assert releases[0].get("version") == __version__
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == DESKTOP.name


def test_the_desktop_entry_launches_the_console_with_its_icon() -> None:
    entry = ConfigParser(interpolation=None)
    entry.read(DESKTOP)
    section = entry["Desktop Entry"]
    assert section["Exec"].split()[0] == "sre-console"
    assert section["Icon"] == "sre-console"


def test_the_changelog_has_a_section_for_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "[Keep a Changelog]" in text
    assert "## [Unreleased]" in text
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)


def test_ico_holds_one_png_per_size_with_256_written_as_zero() -> None:
    pngs = {16: b"a" * 10, 256: b"b" * 20}
    data = _make_icons().ico(pngs)
    assert struct.unpack_from("<HHH", data) == (0, 1, 2)
    entries = [struct.unpack_from("<BBBBHHII", data, 6 + 16 * i) for i in range(2)]
    assert [(e[0], e[1]) for e in entries] == [(16, 16), (0, 0)]
    for entry, png in zip(entries, pngs.values(), strict=True):
        size, offset = entry[6], entry[7]
        assert data[offset : offset + size] == png


def test_icns_lengths_cover_every_element() -> None:
    make_icons = _make_icons()
    pngs = {size: bytes([size % 251]) * size for _kind, size in make_icons.ICNS_TYPES}
    data = make_icons.icns(pngs)
    assert data[:4] == b"icns"
    assert struct.unpack_from(">I", data, 4)[0] == len(data)
    offset, kinds = 8, []
    while offset < len(data):
        kind, length = data[offset : offset + 4], struct.unpack_from(">I", data, offset + 4)[0]
        kinds.append(kind)
        offset += length
    assert offset == len(data)
    assert kinds == [kind for kind, _size in make_icons.ICNS_TYPES]

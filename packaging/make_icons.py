"""Build every platform's icon from the one source image, resources/icons/app.svg.

Writes into OUT_DIR: ``png/sre-console-SIZE.png`` for the Linux hicolor theme, ``sre-console.ico``
(Windows) and ``sre-console.icns`` (macOS). Qt renders the SVG (run offscreen, no display
needed); the ICO and ICNS containers hold PNG images, which Windows Vista+ and macOS 10.7+
read, so no image library beyond Qt is needed.

Run: ``python packaging/make_icons.py OUT_DIR``
"""

import os
import struct
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "resources" / "icons" / "app.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types that hold PNG data, with their pixel size.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def render_png(svg: bytes, size: int) -> bytes:
    """The SVG rendered at ``size`` x ``size`` pixels, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtGui import QImageReader, QImageWriter

    source = QBuffer()
    source.setData(QByteArray(svg))
    source.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(source, b"svg")
    reader.setScaledSize(QSize(size, size))
    image = reader.read()
    if image.isNull():
        raise SystemExit(f"make_icons: cannot render {SOURCE} at {size}px: {reader.errorString()}")
    out = QBuffer()
    out.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(out, b"png")
    if not writer.write(image):
        raise SystemExit(f"make_icons: cannot encode PNG: {writer.errorString()}")
    return bytes(out.data().data())


def ico(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding one PNG per size (a width/height byte of 0 means 256)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries = b""
    for size in sizes:
        entries += struct.pack(
            "<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(pngs[size]), offset
        )
        offset += len(pngs[size])
    return header + entries + b"".join(pngs[size] for size in sizes)


def icns(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns holding PNG elements (length fields include their 8-byte headers)."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main(out_dir: Path) -> None:
    """Write the PNG sizes, the .ico and the .icns into ``out_dir``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication(sys.argv[:1])  # the image plugins need an application object
    svg = SOURCE.read_bytes()
    sizes = set(PNG_SIZES) | set(ICO_SIZES) | {size for _kind, size in ICNS_TYPES}
    pngs = {size: render_png(svg, size) for size in sorted(sizes)}
    (out_dir / "png").mkdir(parents=True, exist_ok=True)
    for size in PNG_SIZES:
        (out_dir / "png" / f"sre-console-{size}.png").write_bytes(pngs[size])
    (out_dir / "sre-console.ico").write_bytes(ico({s: pngs[s] for s in ICO_SIZES}))
    (out_dir / "sre-console.icns").write_bytes(icns(pngs))
    print(f"make_icons: {len(PNG_SIZES)} PNG sizes, .ico and .icns from {SOURCE.name} in {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/make_icons.py OUT_DIR")
    main(Path(sys.argv[1]))

"""Size of the PyInstaller bundle and its start to the first painted DEMO fleet vs the wheel.

Builds the one-folder bundle (packaging/sre-console.spec) and a wheel of this tree installed in
a fresh virtualenv (system site-packages for the dependencies, the wheel's own code for the
console), then starts each one, alternating, with ``--profile demo --measure-startup``: the app
prints ``first-paint <unix time>`` once the DEMO cards are painted. Every start is a new
process (the OS file cache is warm after the first). Targets: bundle < 200 MB, median start
<= 1.3 x the wheel's. ``--bundle DIR`` measures an existing bundle instead of building one.
Run: ``python -m benchmarks.bundle``.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._measure import progress, report
from benchmarks.startup import first_paint_s

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
SIZE_TARGET_MB = 200
RATIO_TARGET = 1.3


def build_bundle(work: Path) -> Path:
    """Build the bundle under ``work``; returns its folder."""
    _run(
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(work / "dist"),
        "--workpath",
        str(work / "build"),
        str(ROOT / "packaging" / "sre-console.spec"),
    )
    return work / "dist" / "sre-console"


def install_wheel(work: Path) -> Path:
    """A virtualenv holding this tree's wheel; returns its ``sre-console`` script."""
    venv = work / "venv"
    python = str(venv / "bin" / "python")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(work / "wheel"), str(ROOT))
    _run(sys.executable, "-m", "venv", "--system-site-packages", str(venv))
    wheel = next((work / "wheel").glob("sre_console-*.whl"))
    _run(python, "-m", "pip", "install", "--no-deps", str(wheel))
    where = _run(python, "-c", "import console; print(console.__file__)", cwd=work).strip()
    if not Path(where).is_relative_to(venv):
        raise RuntimeError(f"the virtualenv imports console from {where}, not from the wheel")
    return venv / "bin" / "sre-console"


def _run(*argv: str, cwd: Path | None = None) -> str:
    """Run ``argv``; its stdout, or CalledProcessError (with the output) when it fails."""
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True).stdout


def size_mb(folder: Path) -> float:
    """Bytes of every file under ``folder``, in MB (10^6); symlinks (Qt's libraries) count once."""
    files = (f for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    return sum(f.stat().st_size for f in files) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="an existing bundle folder to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sre-bench-bundle-") as scratch:
        work = Path(scratch)
        if args.bundle:
            bundle = args.bundle.resolve()
        else:
            progress("building the bundle (about a minute)")
            bundle = build_bundle(work)
        progress("building the wheel and installing it in a virtualenv")
        wheel_app = install_wheel(work)
        bundle_mb = size_mb(bundle)
        progress(f"bundle: {bundle_mb:.1f} MB at {bundle}")
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            "SRE_CONSOLE_CONFIG_DIR": str(work / "config"),
            "SRE_CONSOLE_DATA_DIR": str(work / "data"),
        }
        demo = ["--profile", "demo", "--measure-startup"]
        bundle_s: list[float] = []
        wheel_s: list[float] = []
        for run in range(1, RUNS + 1):
            bundle_s.append(first_paint_s([str(bundle / "sre-console"), *demo], env))
            wheel_s.append(first_paint_s([str(wheel_app), *demo], env))
            progress(f"run {run}/{RUNS}: bundle {bundle_s[-1]:.3f} s, wheel {wheel_s[-1]:.3f} s")
    bundle_ms = statistics.median(bundle_s) * 1000
    wheel_ms = statistics.median(wheel_s) * 1000
    report(
        {
            "runs": RUNS,
            "bundle_size_mb": round(bundle_mb, 1),
            "bundle_size_target_mb": SIZE_TARGET_MB,
            "bundle_start_ms_median": round(bundle_ms, 1),
            "bundle_start_ms_first": round(bundle_s[0] * 1000, 1),
            "wheel_start_ms_median": round(wheel_ms, 1),
            "wheel_start_ms_first": round(wheel_s[0] * 1000, 1),
            "ratio_bundle_to_wheel": round(bundle_ms / wheel_ms, 2),
            "ratio_target": RATIO_TARGET,
        }
    )


if __name__ == "__main__":
    main()

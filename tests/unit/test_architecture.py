"""The layering holds: the core imports no Qt, and the CLI runs without it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The core is Qt-free KEPT" in result.stdout
    assert "BROKEN" not in result.stdout


def test_cli_never_imports_qt(tmp_path: Path) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from console.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    status = main(['fleet', '--profile', 'demo', '--json'])\n"
        "qt_roots = ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in qt_roots)\n"
        "print(status, qt)\n"
    )
    env = {
        **os.environ,
        "SRE_CONSOLE_CONFIG_DIR": str(tmp_path),
        "SRE_CONSOLE_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stdout + result.stderr

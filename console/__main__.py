"""Entry point: `sre-console` opens the desktop console; `sre-console COMMAND` runs headless."""

import multiprocessing
import os
import sys

from console import cli


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the CLI, or open the GUI when no command is given."""
    # Large answers are parsed in a spawned worker (console/backends/_offload.py); in a
    # frozen bundle that worker starts through this entry point.
    multiprocessing.freeze_support()
    args = cli.parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        from console.self_test import main as self_test

        return self_test()
    if args.command is None:
        from console.app import run_app  # Qt is imported only when the window is wanted

        return run_app(args.profile, measure_startup=args.measure_startup)
    try:
        return cli.run(args)
    except BrokenPipeError:
        # The reader went away (`sre-console audit export | head`): stop quietly, and keep
        # Python from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""Entry point: `sre-console` opens the desktop console; `sre-console COMMAND` runs headless."""

import multiprocessing
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
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""The `augcli` command's entry point (the console script and `python -m augcli`).

Nothing is imported before the Ctrl-C guard: a Ctrl-C (or SIGTERM) while the command is still
importing is one line and exit 130 (143), never a KeyboardInterrupt traceback.
"""

import signal
import sys


def main() -> None:
    try:
        from augcli.errors import raise_terminated

        signal.signal(signal.SIGTERM, raise_terminated)
        from augcli.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt as exc:
        from augcli.errors import ExitCode, Terminated

        terminated = isinstance(exc, Terminated)
        sys.stderr.write(f"augcli: error: {'terminated' if terminated else 'interrupted'}\n")
        sys.exit(int(ExitCode.TERMINATED if terminated else ExitCode.INTERRUPTED))


if __name__ == "__main__":
    main()

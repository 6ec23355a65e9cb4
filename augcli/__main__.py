"""`python -m augcli`: the same command as `augcli`, for environments without the script on PATH."""

from augcli.cli import main

main()

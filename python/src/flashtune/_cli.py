"""The `flashtune` console script: runs the command line installed in the package (flashtune/bin/flashtune),
which finds its workers beside itself and its data in flashtune/share/flashtune."""

import os
import sys


def main():
    from flashtune._tune import cli_path

    cli = str(cli_path())
    os.execv(cli, [cli] + sys.argv[1:])


if __name__ == "__main__":
    main()

"""`python -m chemnet.data build [--force] [--limit N]`: build data/ from the bundled tables."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from chemnet import dataset, paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chemnet.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build molecules, names, splits and the store")
    build.add_argument("--force", action="store_true", help="rebuild even if data/ is complete")
    build.add_argument("--limit", type=int, default=None, help="read only N bulk-table rows")
    build.add_argument("--data-dir", type=Path, default=paths.DATA_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    with tqdm(total=100, unit="%", desc="build") as bar:

        def progress(fraction: float, message: str) -> None:
            bar.set_postfix_str(message)
            bar.update(round(fraction * 100) - bar.n)

        counts = dataset.build(args.data_dir, force=args.force, limit=args.limit, progress=progress)
    for key, value in counts.items():
        print(f"{key:>16}: {value:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

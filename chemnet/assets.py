"""Fetch 3Dmol.js once with the npm client so the app draws 3D views without internet.

`python -m chemnet.assets` runs `npm pack 3dmol@2.5.5` in a temporary folder and copies
package/build/3Dmol-min.js into app/static/, which Streamlit serves at /app/static/.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from chemnet.paths import ROOT

logger = logging.getLogger(__name__)

THREEDMOL_VERSION = "2.5.5"
STATIC_DIR = ROOT / "app" / "static"
THREEDMOL_JS = STATIC_DIR / "3Dmol-min.js"
THREEDMOL_CDN = f"https://cdn.jsdelivr.net/npm/3dmol@{THREEDMOL_VERSION}/build/3Dmol-min.js"
_MEMBER = "package/build/3Dmol-min.js"


class AssetError(RuntimeError):
    """The npm client is missing or the package could not be fetched."""


def fetch_3dmol(target: Path = THREEDMOL_JS, version: str = THREEDMOL_VERSION,
                force: bool = False) -> Path:
    """Put 3Dmol-min.js at target, packing it from the npm registry when missing.

    Args:
        target: where the script goes (app/static/3Dmol-min.js by default).
        version: the 3dmol npm release.
        force: fetch again even when the file exists.

    Returns:
        The path of the script.

    Raises:
        AssetError: npm is not installed, or the pack failed.
    """
    if target.exists() and target.stat().st_size > 0 and not force:
        logger.info("%s already present", target)
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm is not installed; install Node.js (apt-get install npm) first")
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([npm, "pack", f"3dmol@{version}"], cwd=tmp,
                                capture_output=True, text=True, timeout=300)
        tarballs = list(Path(tmp).glob("3dmol-*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise AssetError(f"npm pack 3dmol@{version} failed: {result.stderr.strip()[-500:]}")
        _extract_member(tarballs[0], target)
    logger.info("wrote %s (%d bytes)", target, target.stat().st_size)
    return target


def _extract_member(tarball: Path, target: Path) -> None:
    with tarfile.open(tarball) as tar:
        try:
            member = tar.extractfile(_MEMBER)
        except KeyError as exc:
            raise AssetError(f"{tarball.name} has no {_MEMBER}") from exc
        data = member.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)  # atomic, so a running app never serves half a script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch 3Dmol.js into app/static/ with npm.")
    parser.add_argument("--force", action="store_true", help="fetch even if present")
    parser.add_argument("--version", default=THREEDMOL_VERSION)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        path = fetch_3dmol(version=args.version, force=args.force)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pre-rendered training drawings: render once on every core, train many epochs from memory.

An augmented RDKit drawing costs 10-160 ms on the development machine while the `fast` image
model trains on about 240 drawings/s on two idle cores, so rendering inside the training
loop leaves the network idle most of the time. This module renders ``variants`` augmented
drawings per molecule with a process pool and stores them in one ``.npz`` file (uint8 ink
maps, SMILES as the key); the image task reads drawings from it and renders only molecules
the file lacks.

    python -m chemnet.drawings [--max-atoms 20] [--variants 3] [--size 128] [--workers 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
import zlib
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from chemnet import paths, render

logger = logging.getLogger(__name__)


def draw_item(smiles: str, image_size: int, seed: int, augment: bool) -> np.ndarray:
    """One drawing as a (size, size) uint8 ink map; a random training look when augmenting."""
    rng = random.Random(seed)
    style = render.random_style(rng) if augment else render.Style()
    image = render.render(smiles, style, seed=seed)
    if image is None:
        raise ValueError(f"RDKit cannot draw {smiles!r}")
    return (render.preprocess(image, image_size) * 255).astype(np.uint8)


def drawing_seed(smiles: str, variant: int) -> int:
    """A seed fixed by the molecule and the variant, so a rebuilt cache draws the same."""
    return zlib.crc32(smiles.encode()) * 1009 + variant


def default_path(size: int, variants: int, max_atoms: int, folder: Path | None = None) -> Path:
    name = f"drawings_{size}px_{variants}v_{max_atoms}atoms.npz"
    return Path(folder or paths.DATA_DIR) / name


def find_cache(folder: str | Path, size: int) -> Path | None:
    """The largest drawing file of this pixel size in ``folder`` (the one covering the most)."""
    found = sorted(Path(folder).glob(f"drawings_{size}px_*.npz"), key=lambda p: p.stat().st_size)
    return found[-1] if found else None


class DrawingCache:
    """Drawings by SMILES: ``get(smiles, variant)`` gives a (size, size) uint8 map or None."""

    def __init__(self, smiles: list[str], images: np.ndarray):
        if images.ndim != 4 or len(smiles) != images.shape[0]:
            raise ValueError(f"{len(smiles)} SMILES for drawings of shape {images.shape}")
        self.row = {s: i for i, s in enumerate(smiles)}
        self.images = images
        self.variants, self.size = images.shape[1], images.shape[2]

    def __len__(self) -> int:
        return len(self.row)

    def get(self, smiles: str, variant: int) -> np.ndarray | None:
        row = self.row.get(smiles)
        return None if row is None else self.images[row, variant % self.variants]

    def save(self, path: str | Path) -> Path:
        """Write atomically: a half-written cache is never mistaken for a whole one."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            np.savez(handle, smiles=np.array(list(self.row)), images=self.images)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> DrawingCache:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing; render it with `python -m chemnet.drawings`"
            )
        try:
            with np.load(path) as stored:
                return cls(stored["smiles"].tolist(), stored["images"])
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path} is not a drawing cache ({exc}); render it again") from exc


def _render_variants(job: tuple[str, int, int]) -> np.ndarray | None:
    smiles, size, variants = job
    try:
        return np.stack(
            [draw_item(smiles, size, drawing_seed(smiles, v), True) for v in range(variants)]
        )
    except Exception as exc:  # noqa: BLE001 - one odd molecule must not stop a long render
        logger.warning("skipped %s: %s", smiles, exc)
        return None


def render_cache(
    smiles: list[str], size: int, variants: int, workers: int = 1, progress: bool = False
) -> DrawingCache:
    """Render ``variants`` augmented drawings of each molecule on ``workers`` processes."""
    jobs = [(s, size, variants) for s in smiles]
    with Pool(max(1, workers)) as pool:
        results = pool.imap(_render_variants, jobs, chunksize=16)
        drawn = list(tqdm(results, total=len(jobs), desc="render", disable=not progress))
    kept = [(s, images) for s, images in zip(smiles, drawn) if images is not None]
    if not kept:
        raise ValueError("no molecule could be drawn")
    images = np.stack([images for _, images in kept])
    return DrawingCache([s for s, _ in kept], images)


def training_smiles(
    max_atoms: int, split: str = "train", data_dir: str | Path | None = None
) -> list[str]:
    """The molecules of a split up to ``max_atoms`` heavy atoms, as the image task takes them."""
    path = Path(data_dir or paths.DATA_DIR) / paths.MOLECULES_PARQUET.name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; build the data with `python -m chemnet.data build`"
        )
    frame = pd.read_parquet(path, columns=["smiles", "heavy_atoms", "split"])
    frame = frame[(frame["split"] == split) & (frame["heavy_atoms"] <= max_atoms)]
    return frame["smiles"].tolist()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chemnet.drawings",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--max-atoms", type=int, default=20)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--size", type=int, default=128, help="side in pixels (fast: 128)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--limit", type=int, default=None, help="first N molecules only")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        smiles = training_smiles(args.max_atoms, args.split)[: args.limit]
        started = time.perf_counter()
        cache = render_cache(smiles, args.size, args.variants, args.workers, progress=True)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    out = cache.save(args.out or default_path(args.size, args.variants, args.max_atoms))
    logger.info(
        "%d molecules x %d drawings in %.0f s (%.1f drawings/s) -> %s",
        len(cache),
        args.variants,
        seconds,
        len(cache) * args.variants / seconds,
        out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

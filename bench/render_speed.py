"""Does rendering keep up with training? Drawings per second against training images per second.

    python bench/render_speed.py [--n 60] [--variant fast] [--batch-size 32] [--steps 4]
        [--workers 2]

Prints ms per drawing (clean reference look, random training augmentation, cached), the rate
of the pre-rendering pool of chemnet.drawings, the training throughput of the image model on
the same machine, and their ratios: above 1 the renderer outpaces the training step. Rendering
and training share the cores, so the shipped runs render once up front (chemnet.drawings) and
train from memory.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from chemnet import paths, render
from chemnet.drawings import draw_item, render_cache
from chemnet.nets.image_model import DESC_SIZE, build_image_model, model_settings

FALLBACK = ["CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "OC1CCC(N)C(Cl)C1",
            "c1ccc2ccccc2c1", "CC(=O)Oc1ccccc1C(=O)O", "O=C(O)CCCCC1CCSS1"]


def molecules(n: int) -> list[str]:
    """Test-split molecules when the data is built, else a few fixed ones."""
    if paths.MOLECULES_PARQUET.exists():
        frame = pd.read_parquet(paths.MOLECULES_PARQUET, columns=["smiles", "heavy_atoms"])
        return frame[frame["heavy_atoms"] <= 30]["smiles"].sample(n, random_state=0).tolist()
    return (FALLBACK * (n // len(FALLBACK) + 1))[:n]


def ms_per(fn, items: list) -> float:
    start = time.perf_counter()
    for i, item in enumerate(items):
        fn(item, i)
    return (time.perf_counter() - start) / len(items) * 1000


def train_images_per_s(variant: str, batch: int, steps: int) -> float:
    model = build_image_model(variant, 60)
    size = model_settings(variant)["image_size"]
    optimizer = torch.optim.Adam(model.parameters())
    images, desc = torch.rand(batch, 1, size, size), torch.zeros(batch, DESC_SIZE)
    tgt = torch.randint(4, 60, (batch, 40))
    for step in range(steps + 1):
        if step == 1:  # the first step pays for allocations
            start = time.perf_counter()
        loss = model(images, desc, tgt).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return batch * steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--variant", default="fast")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="processes of the render pool")
    args = parser.parse_args(argv)
    size = model_settings(args.variant)["image_size"]
    smiles = molecules(args.n)

    clean = ms_per(lambda s, i: render.render(s), smiles)
    augmented = ms_per(lambda s, i: draw_item(s, size, i, True), smiles)
    cache = {i: draw_item(s, size, i, True) for i, s in enumerate(smiles[:8])}
    cached = ms_per(lambda s, i: torch.from_numpy(cache[i % 8]), smiles)
    start = time.perf_counter()
    pooled = len(render_cache(smiles, size, 2, args.workers)) * 2 / (time.perf_counter() - start)
    train = train_images_per_s(args.variant, args.batch_size, args.steps)

    print(f"threads {torch.get_num_threads()}, {len(smiles)} molecules, variant {args.variant} "
          f"({size} px)")
    print(f"clean 224 px drawing:           {clean:8.2f} ms  ({1000 / clean:7.1f} /s)")
    print(f"augmented drawing + preprocess: {augmented:8.2f} ms  ({1000 / augmented:7.1f} /s)")
    print(f"cached drawing:                 {cached:8.3f} ms")
    print(f"render pool ({args.workers} workers):         {pooled:8.1f} drawings/s")
    print(f"training (batch {args.batch_size}):            {train:8.1f} images/s")
    print(f"ratio renderer/trainer (one worker): {1000 / augmented / train:.2f}")
    print(f"ratio render pool/trainer:           {pooled / train:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

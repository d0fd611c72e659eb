"""Optical structure recognition side by side: our image model against OSRA on the same drawings.

Test-split molecules are drawn in a style no training augmentation produces (render.
HELD_OUT_STYLE: monospace bold font, thick bonds, a 320 px canvas) and saved as PNG files;
both readers get the same files. Figures: exact match by InChIKey (stereo ignored, since the
dataset's SMILES carry none), validity, mean Tanimoto, and wall and CPU seconds per image (OSRA
runs ``--jobs`` processes at a time; CPU seconds are the fair figure on a busy machine).

    python bench/ocsr.py [--n 200] [--max-atoms 20] [--model models/image2smiles.pth]
        [--no-osra] [--json results/bench_ocsr.json]

OSRA is the Debian package ``osra``; the bench installs it with apt-get when it is missing.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from rdkit import Chem

from chemnet import chem, paths, render


def flat_inchikey(smiles: str | None) -> str | None:
    """InChIKey with stereo removed; None for an invalid SMILES."""
    mol = chem.parse_smiles(smiles)
    if mol is None:
        return None
    Chem.RemoveStereochemistry(mol)
    return chem.inchikey(mol)


def score(predicted: list[str | None], truth: list[str]) -> dict:
    """Exact match (InChIKey), validity and mean Tanimoto of predictions against the truth."""
    keys = [flat_inchikey(p) for p in predicted]
    exact = [k is not None and k == flat_inchikey(t) for k, t in zip(keys, truth)]
    return {
        "exact_match": sum(exact) / len(truth),
        "validity": sum(k is not None for k in keys) / len(truth),
        "tanimoto": sum(chem.tanimoto(p, t) for p, t in zip(predicted, truth)) / len(truth),
    }


def pick_molecules(n: int, max_atoms: int | None, seed: int) -> pd.DataFrame:
    frame = pd.read_parquet(paths.MOLECULES_PARQUET)
    frame = frame[frame["split"] == "test"]
    if max_atoms:
        frame = frame[frame["heavy_atoms"] <= max_atoms]
    return frame.sample(n=min(n, len(frame)), random_state=seed).reset_index(drop=True)


def draw_all(frame: pd.DataFrame, folder: Path) -> list[Path]:
    files = []
    for i, smiles in enumerate(frame["smiles"]):
        path = folder / f"mol{i:05d}.png"
        render.render(smiles, render.HELD_OUT_STYLE, seed=i).save(path)
        files.append(path)
    return files


def run_model(model_path: Path, files: list[Path], formulas: list[str] | None) -> tuple:
    """Canonical SMILES per file, wall and CPU seconds per image (CPU counts all threads)."""
    from chemnet.predict import load_predictor

    predictor = load_predictor(model_path)
    wall, cpu = time.perf_counter(), time.process_time()
    predictions = predictor.predict([str(f) for f in files], formulas=formulas)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return [p.canonical_smiles for p in predictions], wall / len(files), cpu / len(files)


def ensure_osra() -> str | None:
    """The osra executable, installed with apt-get if missing; None if that fails."""
    found = shutil.which("osra")
    if found:
        return found
    print("osra not found; installing the Debian package with apt-get ...", file=sys.stderr)
    for command in (["apt-get", "install", "-y", "osra"], ["apt-get", "update"],
                    ["apt-get", "install", "-y", "osra"]):
        subprocess.run(command, capture_output=True, timeout=900)
        if shutil.which("osra"):
            break
    return shutil.which("osra")


def osra_one(exe: str, path: Path) -> str | None:
    """OSRA's first structure for one image (canonical SMILES output), or None."""
    try:
        done = subprocess.run([exe, "-f", "can", str(path)], capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        return None
    lines = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    return chem.canonical_smiles(lines[0]) if lines else None


def run_osra(exe: str, files: list[Path], jobs: int) -> tuple[list[str | None], float, float]:
    """OSRA on every file, ``jobs`` at a time; wall and CPU (user + system) seconds per image.

    OSRA is one process per image; running a few at once hides its start-up latency.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        out = list(pool.map(lambda f: osra_one(exe, f), files))
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, wall / len(files), cpu / len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="test molecules to draw")
    parser.add_argument("--max-atoms", type=int, default=None,
                        help="only molecules this small (default: the model's training limit)")
    parser.add_argument("--model", default=str(paths.IMAGE_MODEL))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-osra", action="store_true")
    parser.add_argument("--jobs", type=int, default=4, help="OSRA processes at a time")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    # The molecule-size limit defaults to the one the model was trained with.
    from chemnet.checkpoint import load_checkpoint

    config = load_checkpoint(args.model)["config"]
    max_atoms = args.max_atoms if args.max_atoms is not None else config.get("max_atoms")
    frame = pick_molecules(args.n, max_atoms, args.seed)
    truth = frame["smiles"].tolist()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = draw_all(frame, Path(tmp))
        for label, formulas in (("model", None), ("model+formula", frame["formula"].tolist())):
            predicted, wall, cpu = run_model(Path(args.model), files, formulas)
            rows[label] = {**score(predicted, truth), "seconds_per_image": wall,
                           "cpu_seconds_per_image": cpu}
        exe = None if args.no_osra else ensure_osra()
        if exe:
            predicted, wall, cpu = run_osra(exe, files, args.jobs)
            rows["osra"] = {**score(predicted, truth), "seconds_per_image": wall,
                            "cpu_seconds_per_image": cpu}
        elif not args.no_osra:
            print("OSRA unavailable: apt-get could not install it", file=sys.stderr)

    print(f"{len(truth)} test molecules (<= {max_atoms} heavy atoms), style held_out "
          f"({render.HELD_OUT_STYLE.size} px, {render.HELD_OUT_FONT}, bond width "
          f"{render.HELD_OUT_STYLE.bond_width})")
    print(f"{'reader':<15}{'exact':>8}{'valid':>8}{'tanimoto':>10}{'s/image':>10}{'cpu s':>8}")
    for label, row in rows.items():
        print(f"{label:<15}{row['exact_match']:>8.3f}{row['validity']:>8.3f}"
              f"{row['tanimoto']:>10.3f}{row['seconds_per_image']:>10.3f}"
              f"{row['cpu_seconds_per_image']:>8.3f}")
    if "osra" in rows and rows["osra"]["exact_match"] > 0:
        ratio = rows["model"]["exact_match"] / rows["osra"]["exact_match"]
        print(f"exact-match ratio model/OSRA: {ratio:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"n": len(truth), "max_atoms": max_atoms,
                                               "style": render.HELD_OUT_STYLE.to_dict(),
                                               "readers": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

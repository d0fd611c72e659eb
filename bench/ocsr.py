"""Optical structure recognition side by side: our image model against OSRA on the same drawings.

Test-split molecules are drawn in a style no training augmentation produces (render.
HELD_OUT_STYLE: monospace bold font, thick bonds, a 320 px canvas) and saved as PNG files;
both readers get the same files. Figures: exact match by InChIKey (stereo ignored, since the
dataset's SMILES carry none), validity, mean Tanimoto and seconds per image.

    python bench/ocsr.py [--n 200] [--max-atoms 20] [--model models/image2smiles.pth]
        [--no-osra] [--json results/bench_ocsr.json]

OSRA is the Debian package ``osra``; the bench installs it with apt-get when it is missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
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
    from chemnet.predict import load_predictor

    predictor = load_predictor(model_path)
    start = time.perf_counter()
    predictions = predictor.predict([str(f) for f in files], formulas=formulas)
    seconds = (time.perf_counter() - start) / len(files)
    return [p.canonical_smiles for p in predictions], seconds


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


def run_osra(exe: str, files: list[Path]) -> tuple[list[str | None], float]:
    """OSRA's first structure per image (canonical SMILES output), or None."""
    out: list[str | None] = []
    start = time.perf_counter()
    for path in files:
        try:
            done = subprocess.run([exe, "-f", "can", str(path)], capture_output=True, text=True,
                                  timeout=60)
            lines = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
        except subprocess.TimeoutExpired:
            lines = []
        out.append(chem.canonical_smiles(lines[0]) if lines else None)
    return out, (time.perf_counter() - start) / len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="test molecules to draw")
    parser.add_argument("--max-atoms", type=int, default=None,
                        help="only molecules this small (default: the model's training limit)")
    parser.add_argument("--model", default=str(paths.IMAGE_MODEL))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-osra", action="store_true")
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
            predicted, seconds = run_model(Path(args.model), files, formulas)
            rows[label] = {**score(predicted, truth), "seconds_per_image": seconds}
        exe = None if args.no_osra else ensure_osra()
        if exe:
            predicted, seconds = run_osra(exe, files)
            rows["osra"] = {**score(predicted, truth), "seconds_per_image": seconds}
        elif not args.no_osra:
            print("OSRA unavailable: apt-get could not install it", file=sys.stderr)

    print(f"{len(truth)} test molecules (<= {max_atoms} heavy atoms), style held_out "
          f"({render.HELD_OUT_STYLE.size} px, {render.HELD_OUT_FONT}, bond width "
          f"{render.HELD_OUT_STYLE.bond_width})")
    print(f"{'reader':<15}{'exact':>8}{'valid':>8}{'tanimoto':>10}{'s/image':>10}")
    for label, row in rows.items():
        print(f"{label:<15}{row['exact_match']:>8.3f}{row['validity']:>8.3f}"
              f"{row['tanimoto']:>10.3f}{row['seconds_per_image']:>10.3f}")
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

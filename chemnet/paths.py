"""Where the project keeps its files; each root can be moved with an environment variable."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _dir(env: str, default: Path) -> Path:
    return Path(os.environ[env]).resolve() if os.environ.get(env) else default


DATA_DIR = _dir("CHEMNET_DATA_DIR", ROOT / "data")
MODELS_DIR = _dir("CHEMNET_MODELS_DIR", ROOT / "models")
RESULTS_DIR = _dir("CHEMNET_RESULTS_DIR", ROOT / "results")
RUNS_DIR = RESULTS_DIR / "runs"
EVAL_DIR = RESULTS_DIR / "eval"

MOLECULES_PARQUET = DATA_DIR / "molecules.parquet"
NAMES_PARQUET = DATA_DIR / "names.parquet"
STORE_SQLITE = DATA_DIR / "chemnet.sqlite"
NAME_MODEL = MODELS_DIR / "name2smiles.pth"
IMAGE_MODEL = MODELS_DIR / "image2smiles.pth"

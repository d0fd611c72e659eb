"""The examples an evaluation runs on: names of a split for the name model, drawings of a
split's molecules for the image model (one evaluation look per molecule, in rotation)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from chemnet import paths

SPLITS = ("train", "val", "test")


def load(
    task: str, split: str, limit: int | None, data_dir: str | Path | None, seed: int = 0
) -> pd.DataFrame:
    """Examples as a frame with columns input, group, smiles (+ formula, render_seed).

    group is the name kind for the name model and the drawing style for the image model. A
    limit takes a fixed random sample, so repeated evaluations see the same examples.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    folder = Path(data_dir) if data_dir is not None else paths.DATA_DIR
    frame = _image_examples(folder, split) if task == "image" else _name_examples(folder, split)
    if frame.empty:
        raise ValueError(f"no {split} examples in {folder}")
    if limit is not None and limit < len(frame):
        frame = frame.sample(n=max(1, int(limit)), random_state=seed).sort_index()
    if task == "image":
        frame = _assign_styles(frame)
    return frame.reset_index(drop=True)


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; build it with `python -m chemnet.data build`")
    return pd.read_parquet(path, columns=columns)


def _name_examples(folder: Path, split: str) -> pd.DataFrame:
    names = _read(folder / "names.parquet", ["name", "kind", "smiles", "split"])
    names = names[names["split"] == split]
    return pd.DataFrame({"input": names["name"], "group": names["kind"], "smiles": names["smiles"]})


def _image_examples(folder: Path, split: str) -> pd.DataFrame:
    molecules = _read(folder / "molecules.parquet", ["name", "smiles", "formula", "split"])
    molecules = molecules[molecules["split"] == split]
    return pd.DataFrame(
        {"name": molecules["name"], "smiles": molecules["smiles"], "formula": molecules["formula"]}
    )


def _assign_styles(frame: pd.DataFrame) -> pd.DataFrame:
    """Each molecule drawn in one evaluation style, in rotation, with a fixed seed."""
    from chemnet.render import EVAL_STYLES

    styles = list(EVAL_STYLES)
    frame = frame.reset_index(drop=True)
    frame["group"] = [styles[i % len(styles)] for i in range(len(frame))]
    frame["render_seed"] = list(range(len(frame)))
    frame["input"] = [f"{n} ({g} drawing)" for n, g in zip(frame["name"], frame["group"])]
    return frame


def drawing(smiles: str, style: str, seed: int):
    """The image an evaluation showed the image model for one example (PIL image)."""
    from chemnet.render import EVAL_STYLES, render

    return render(smiles, EVAL_STYLES[style], seed=int(seed))


def model_inputs(task: str, batch: pd.DataFrame) -> list:
    """Names, or the drawings rendered for this batch."""
    if task != "image":
        return batch["input"].tolist()
    return [
        drawing(s, g, seed)
        for s, g, seed in zip(batch["smiles"], batch["group"], batch["render_seed"])
    ]


def predict(predictor, inputs: list, beam: int) -> list:
    """Free-running predictions. The image model gets no formula, as for a user's drawing."""
    return predictor.predict(inputs, beam=beam)

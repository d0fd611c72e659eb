"""Pre-rendered drawings: rendering on a pool, the file round trip, and the dataset reading it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chemnet import drawings
from chemnet.drawings import DrawingCache, render_cache
from chemnet.tasks.image import DrawingDataset, ImageTask
from chemnet.tokenizer import Vocab

SMILES = ["CCO", "c1ccccc1O", "CC(=O)O"]


@pytest.fixture(scope="module")
def cache() -> DrawingCache:
    return render_cache(SMILES + ["not a molecule"], size=32, variants=2, workers=1)


def test_cache_holds_each_drawable_molecule_in_every_variant(cache):
    assert len(cache) == 3  # the undrawable text is left out, not fatal
    assert cache.images.shape == (3, 2, 32, 32) and cache.images.dtype == np.uint8
    first, second = cache.get("CCO", 0), cache.get("CCO", 1)
    assert first.max() > 0 and not np.array_equal(first, second)  # two different looks
    assert np.array_equal(cache.get("CCO", 2), first)  # variants wrap around
    assert cache.get("CCN", 0) is None


def test_drawings_are_fixed_by_molecule_and_variant(cache):
    again = render_cache(["CCO"], size=32, variants=2, workers=1)
    assert np.array_equal(again.get("CCO", 1), cache.get("CCO", 1))


def test_file_round_trip_and_clear_errors(cache, tmp_path):
    path = cache.save(tmp_path / "d.npz")
    loaded = DrawingCache.load(path)
    assert loaded.variants == 2 and np.array_equal(
        loaded.get("CC(=O)O", 1), cache.get("CC(=O)O", 1)
    )
    with pytest.raises(FileNotFoundError, match="chemnet.drawings"):
        DrawingCache.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="not a drawing cache"):
        DrawingCache.load(tmp_path / "bad.npz")


def dataset(smiles: list[str], size: int, cache: DrawingCache) -> DrawingDataset:
    frame = pd.DataFrame({"smiles": smiles, "formula": ["CH4"] * len(smiles), "mw": 16.0})
    vocab = Vocab.build(frame["smiles"], "smiles")
    return DrawingDataset(frame, vocab, size, variants=5, augment=True, desc_keep=1.0,
                          drawings=cache)


def test_dataset_reads_the_cache_and_renders_what_it_lacks(cache):
    data = dataset(["CCO", "CN"], 32, cache)
    assert data.variants == 2  # the file decides how many looks there are
    assert np.array_equal(data[0][0].numpy(), cache.get("CCO", 0))
    assert np.array_equal(data[0][0].numpy(), cache.get("CCO", 1))
    assert data[1][0].shape == (32, 32) and len(data.cache) == 1  # CN rendered on the fly


def test_cache_of_another_size_is_ignored(cache):
    data = dataset(["CCO"], 48, cache)
    assert data.drawings is None and data[0][0].shape == (48, 48)


def test_auto_takes_the_largest_file_of_the_model_size(cache, tmp_path):
    small = render_cache(["CCO"], size=32, variants=1, workers=1)
    small.save(drawings.default_path(32, 1, 5, folder=tmp_path))
    big = cache.save(drawings.default_path(32, 2, 20, folder=tmp_path))
    cache.save(drawings.default_path(48, 2, 20, folder=tmp_path))  # another size: never taken
    assert drawings.find_cache(tmp_path, 32) == big
    assert drawings.find_cache(tmp_path, 64) is None

    config = {**ImageTask.defaults(), "data_dir": str(tmp_path), "drawings": None}
    task = ImageTask(config)
    assert len(task._drawing_cache(32)) == 3
    assert config["drawings"] == str(big)  # the run's config names the file it trained on
    assert ImageTask({**config, "drawings": "off"})._drawing_cache(32) is None
    assert ImageTask({**config, "drawings": None})._drawing_cache(64) is None

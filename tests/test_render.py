"""Drawings for the image model: styles, augmentation, preprocessing and image loading."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from chemnet import render

CAFFEINE = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"
BENZENE = "c1ccccc1"


def ink(image: Image.Image) -> int:
    return int((np.asarray(image.convert("L")) < 128).sum())


def test_default_style_is_a_grey_reference_drawing():
    image = render.render(CAFFEINE)
    assert image.size == (224, 224)
    assert image.mode == "L"
    assert 200 < ink(image) < 0.5 * 224 * 224


def test_colour_style_gives_rgb_and_invalid_smiles_gives_none():
    assert render.render(CAFFEINE, render.Style(colour=True)).mode == "RGB"
    assert render.render("C1CC(") is None
    assert render.render("") is None


def test_same_seed_same_pixels_and_styles_change_the_drawing():
    style = render.Style(noise=0.05, rotation=30)
    first = np.asarray(render.render(CAFFEINE, style, seed=3))
    again = np.asarray(render.render(CAFFEINE, style, seed=3))
    assert np.array_equal(first, again)
    plain = np.asarray(render.render(CAFFEINE))
    assert not np.array_equal(first, plain)


def test_aromatic_circles_replace_the_kekule_double_bonds():
    kekule = render.render(BENZENE, render.Style(bond_width=2))
    circles = render.render(BENZENE, render.Style(bond_width=2, aromatic_circles=True))
    # A circle of radius 0.6 r has more ink than three inner double-bond lines (3 x ~0.7 r).
    assert ink(circles) > ink(kekule) * 1.1


def test_wedges_and_hydrogen_bonds_draw_without_errors():
    style = render.Style(wedges=True, hydrogen_bonds=True, explicit_methyl=True)
    image = render.render("CC(N)C(O)C(=O)O", style, seed=1)
    assert ink(image) > 100


def test_random_styles_vary_and_repeat_with_the_seed():
    styles = [render.random_style(random.Random(i)) for i in range(40)]
    assert len({s.font for s in styles}) >= 4
    assert any(s.aromatic_circles for s in styles) and not all(s.aromatic_circles for s in styles)
    assert render.random_style(random.Random(7)) == render.random_style(random.Random(7))
    assert render.HELD_OUT_FONT not in {s.font for s in styles}
    for style in styles[:8]:
        assert render.render(CAFFEINE, style, seed=1) is not None


def test_preprocess_crops_margins_away():
    tight = render.render(CAFFEINE, render.Style(padding=0.02))
    loose = render.render(CAFFEINE, render.Style(padding=0.3, size=400))
    a, b = render.preprocess(tight, 64), render.preprocess(loose, 64)
    assert a.shape == b.shape == (64, 64)
    assert a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0
    # The same molecule framed differently becomes nearly the same ink map.
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.6


def test_preprocess_handles_colour_transparency_and_blank_images():
    rgba = Image.new("RGBA", (50, 80), (0, 0, 0, 0))
    rgba.paste((200, 200, 0, 255), (10, 10, 40, 20))  # a yellow bar, like a sulfur label
    out = render.preprocess(rgba, 32)
    assert out.max() > 0.9  # the darkest channel keeps light colours as full ink
    assert render.preprocess(Image.new("L", (30, 30), 255), 16).max() == 0.0


def test_noise_does_not_defeat_the_crop():
    noisy = render.render(CAFFEINE, render.Style(padding=0.3, noise=0.08), seed=2)
    clean = render.render(CAFFEINE, render.Style(padding=0.3))
    a, b = render.preprocess(noisy, 64), render.preprocess(clean, 64)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.6


def test_load_image_reports_bad_files(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        render.load_image(text)
    with pytest.raises(ValueError, match="no such file"):
        render.load_image(tmp_path / "missing.png")
    good = tmp_path / "mol.jpg"
    render.render(CAFFEINE).convert("RGB").save(good, quality=60)
    assert render.load_image(good).size == (224, 224)


def test_every_evaluation_style_renders():
    for name, style in render.EVAL_STYLES.items():
        assert render.render(CAFFEINE, style, seed=0) is not None, name

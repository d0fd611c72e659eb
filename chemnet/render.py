"""Molecule drawings for the image model: RDKit depictions, augmentation and preprocessing.

A drawing is made in two stages. `draw` asks RDKit (Cairo) for a depiction in a given
`Style` (font, bond width, rotation, label and hydrogen conventions, aromatic circles or
Kekulé bonds, wedges, colour); `degrade` then adds scanner-like damage (noise, blur, JPEG
artefacts). `random_style` samples the training augmentation; `HELD_OUT_STYLE` is a look no
training style uses, for benchmarks. `preprocess` turns any image (any size, colour or grey)
into the fixed-size ink tensor the network reads, so training and prediction share it.
"""

from __future__ import annotations

import io
import logging
import math
import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from rdkit import Chem
from rdkit.Chem import AllChem, rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D
from rdkit.Geometry import Point2D

from chemnet import chem

logger = logging.getLogger(__name__)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Fonts the training augmentation samples from; the monospace and bold-italic serif faces
# are kept out of training so the benchmark style is unseen.
TRAIN_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerifCondensed.ttf",
    "DejaVuSans-Oblique.ttf",
)
HELD_OUT_FONT = "DejaVuSansMono-Bold.ttf"
# Ink above this after a 3x3 mean, in at least two pixels of a row or column, marks the
# drawing for cropping: the mean flattens scanner noise while faint thin labels still pass.
INK_THRESHOLD = 0.15


@dataclass(frozen=True)
class Style:
    """How one molecule is drawn. Defaults give RDKit's own look at the 224 px reference."""

    size: int = 224
    rotation: float = 0.0  # degrees, applied to the 2D coordinates
    padding: float = 0.05  # fraction of the canvas left blank around the molecule
    bond_width: float = 2.0
    font: str | None = None  # a file in FONT_DIR; None is RDKit's built-in font
    font_scale: float = 1.0  # multiplies RDKit's base font size
    aromatic_circles: bool = False  # circles in aromatic rings instead of Kekulé bonds
    explicit_methyl: bool = False  # "CH3" labels on terminal carbons
    hydrogen_bonds: bool = False  # heteroatom hydrogens drawn as bonded H atoms, not "OH"
    wedges: bool = False  # random stereo at stereocentres, drawn as wedges and hashes
    colour: bool = False  # RDKit's coloured heteroatoms instead of black and white
    bond_length: float = -1.0  # fixed bond length in pixels; -1 lets RDKit fit the canvas
    multiple_bond_offset: float = 0.15
    noise: float = 0.0  # standard deviation of Gaussian pixel noise, 0..1 scale
    blur: float = 0.0  # Gaussian blur radius in pixels
    jpeg_quality: int | None = None  # re-encode as JPEG at this quality
    comic: bool = False  # RDKit's hand-drawn look

    def to_dict(self) -> dict:
        return asdict(self)


# Benchmark look that no training style produces: a monospace bold font, thick bonds, a
# large canvas and fixed bond length, so the model meets a new drawing convention.
HELD_OUT_STYLE = Style(
    size=320, font=HELD_OUT_FONT, bond_width=3.5, font_scale=1.25, padding=0.12,
    multiple_bond_offset=0.22,
)
# Named deterministic looks for evaluation breakdowns ("by renderer").
EVAL_STYLES = {
    "rdkit": Style(),
    "held_out": HELD_OUT_STYLE,
    "aromatic_circles": Style(aromatic_circles=True, font="DejaVuSerif.ttf"),
    "noisy_scan": Style(rotation=8.0, noise=0.06, blur=0.8, jpeg_quality=35),
}


def random_style(rng: random.Random, size: int = 224) -> Style:
    """Sample a training augmentation; every field varies independently."""
    return Style(
        size=int(size * rng.uniform(0.7, 1.2)),
        rotation=rng.uniform(-180, 180) if rng.random() < 0.5 else rng.choice([0.0, 90.0]),
        padding=rng.uniform(0.02, 0.2),
        bond_width=rng.uniform(1.0, 3.5),
        font=rng.choice((None,) + TRAIN_FONTS),
        font_scale=rng.uniform(0.75, 1.35),
        aromatic_circles=rng.random() < 0.3,
        explicit_methyl=rng.random() < 0.15,
        hydrogen_bonds=rng.random() < 0.1,
        wedges=rng.random() < 0.3,
        colour=rng.random() < 0.3,
        multiple_bond_offset=rng.uniform(0.1, 0.22),
        noise=rng.uniform(0.0, 0.08) if rng.random() < 0.4 else 0.0,
        blur=rng.uniform(0.3, 1.0) if rng.random() < 0.3 else 0.0,
        jpeg_quality=rng.randint(20, 80) if rng.random() < 0.3 else None,
    )


def render(smiles: str, style: Style = Style(), seed: int = 0) -> Image.Image | None:
    """Draw a molecule and degrade it as the style says; None for an invalid SMILES.

    Returns an RGB image when the style is coloured, otherwise greyscale ("L").
    """
    mol = chem.parse_smiles(smiles)
    if mol is None:
        return None
    rng = random.Random(seed)
    image = draw(mol, style, rng)
    return degrade(image, style, rng)


def draw(mol: Chem.Mol, style: Style, rng: random.Random) -> Image.Image:
    """The clean RDKit depiction of `mol` in `style` (no noise)."""
    rings = _aromatic_rings(mol) if style.aromatic_circles else []
    mol = _prepare(mol, style, rng)
    drawer = rdMolDraw2D.MolDraw2DCairo(style.size, style.size)
    _set_options(drawer.drawOptions(), style)
    drawer.DrawMolecule(mol)
    if rings:
        _draw_ring_circles(drawer, mol, rings, style)
    drawer.FinishDrawing()
    image = Image.open(io.BytesIO(drawer.GetDrawingText()))
    return image.convert("RGB" if style.colour else "L")


def _prepare(mol: Chem.Mol, style: Style, rng: random.Random) -> Chem.Mol:
    """Hydrogens, stereo, coordinates and bond orders as the style draws them."""
    mol = Chem.Mol(mol)
    if style.hydrogen_bonds:
        hetero = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() != "C" and a.GetTotalNumHs()]
        if hetero:
            mol = Chem.AddHs(mol, onlyOnAtoms=hetero)
    if style.wedges:
        _random_stereo(mol, rng)
    rdDepictor.SetPreferCoordGen(False)
    AllChem.Compute2DCoords(mol)
    if style.rotation:
        _rotate(mol, style.rotation)
    if style.wedges:
        Chem.WedgeMolBonds(mol, mol.GetConformer())
    if style.aromatic_circles:
        return _aromatic_as_single(mol)
    Chem.Kekulize(mol, clearAromaticFlags=True)
    return mol


def _random_stereo(mol: Chem.Mol, rng: random.Random) -> None:
    """Give each potential stereocentre a random configuration, so wedges get drawn."""
    centres = Chem.FindMolChiralCenters(mol, includeUnassigned=True, useLegacyImplementation=False)
    tags = (Chem.ChiralType.CHI_TETRAHEDRAL_CW, Chem.ChiralType.CHI_TETRAHEDRAL_CCW)
    for index, _ in centres:
        mol.GetAtomWithIdx(index).SetChiralTag(rng.choice(tags))
    Chem.AssignStereochemistry(mol, cleanIt=True, force=True)


def _rotate(mol: Chem.Mol, degrees: float) -> None:
    conf = mol.GetConformer()
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    for i in range(mol.GetNumAtoms()):
        p = conf.GetAtomPosition(i)
        conf.SetAtomPosition(i, (p.x * cos - p.y * sin, p.x * sin + p.y * cos, 0.0))


def _aromatic_as_single(mol: Chem.Mol) -> Chem.Mol:
    """Aromatic bonds become plain single lines; the circles are drawn separately."""
    rw = Chem.RWMol(mol)
    for atom in rw.GetAtoms():
        # Freeze hydrogen counts, or "[nH]"-free ring nitrogens would gain an H label.
        atom.SetNumExplicitHs(atom.GetTotalNumHs())
        atom.SetNoImplicit(True)
    for bond in rw.GetBonds():
        if bond.GetIsAromatic():
            bond.SetBondType(Chem.BondType.SINGLE)
            bond.SetIsAromatic(False)
    for atom in rw.GetAtoms():
        atom.SetIsAromatic(False)
    # No sanitisation: RDKit would re-perceive the aromaticity we just removed.
    out = rw.GetMol()
    out.UpdatePropertyCache(strict=False)
    return out


def _set_options(opts, style: Style) -> None:
    opts.bondLineWidth = style.bond_width
    opts.scaleBondWidth = False
    opts.padding = style.padding
    opts.multipleBondOffset = style.multiple_bond_offset
    opts.explicitMethyl = style.explicit_methyl
    opts.baseFontSize = 0.6 * style.font_scale
    opts.minFontSize = max(6, int(11 * style.font_scale * style.size / 224))
    opts.prepareMolsBeforeDrawing = False
    opts.comicMode = style.comic
    if style.bond_length > 0:
        opts.fixedBondLength = style.bond_length
    if style.font:
        opts.fontFile = str(FONT_DIR / style.font)
    if not style.colour:
        opts.useBWAtomPalette()


def _draw_ring_circles(drawer, mol: Chem.Mol, rings: list[tuple[int, ...]], style: Style) -> None:
    """Draw a circle inside each aromatic ring."""
    conf = mol.GetConformer()
    drawer.SetFillPolys(False)
    drawer.SetLineWidth(max(1, int(style.bond_width)))
    drawer.SetColour((0.0, 0.0, 0.0))
    for ring in rings:
        points = np.array([[conf.GetAtomPosition(i).x, conf.GetAtomPosition(i).y] for i in ring])
        centre = points.mean(axis=0)
        radius = 0.6 * float(np.linalg.norm(points - centre, axis=1).mean())
        low = drawer.GetDrawCoords(_point(centre - radius))
        high = drawer.GetDrawCoords(_point(centre + radius))
        drawer.DrawEllipse(low, high, rawCoords=True)


def _aromatic_rings(mol: Chem.Mol) -> list[tuple[int, ...]]:
    """Rings whose bonds are all aromatic, found before the flags are cleared for drawing."""
    info = mol.GetRingInfo()
    return [
        tuple(atoms)
        for atoms, bonds in zip(info.AtomRings(), info.BondRings())
        if all(mol.GetBondWithIdx(b).GetIsAromatic() for b in bonds)
    ]


def _point(xy: np.ndarray) -> Point2D:
    return Point2D(float(xy[0]), float(xy[1]))


def degrade(image: Image.Image, style: Style, rng: random.Random) -> Image.Image:
    """Blur, Gaussian noise and JPEG artefacts, in the order a scan would add them."""
    if style.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(style.blur))
    if style.noise > 0:
        pixels = np.asarray(image, dtype=np.float32)
        noise = np.random.default_rng(rng.getrandbits(32)).standard_normal(pixels.shape,
                                                                          dtype=np.float32)
        pixels += noise * (style.noise * 255.0)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if style.jpeg_quality:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(style.jpeg_quality))
        buffer.seek(0)
        image = Image.open(buffer)
        image.load()
    return image


def preprocess(image: Image.Image, size: int) -> np.ndarray:
    """Any image -> a (size, size) float32 ink map in 0..1 (1 is ink), cropped to the drawing.

    Cropping to the inked area and padding to a square makes the network independent of the
    canvas size and margins of whoever drew the molecule.
    """
    grey = _to_grey(image)
    ink = 1.0 - np.asarray(grey, dtype=np.float32) / 255.0
    marked = _box_mean(ink) > INK_THRESHOLD
    rows = np.flatnonzero(marked.sum(axis=1) >= 2)
    cols = np.flatnonzero(marked.sum(axis=0) >= 2)
    if rows.size and cols.size:
        ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = ink.shape
    side = int(max(height, width) * 1.08) + 2
    square = np.zeros((side, side), dtype=np.float32)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = ink
    resized = Image.fromarray((square * 255).astype(np.uint8)).resize(
        (size, size), Image.Resampling.BILINEAR if side < size else Image.Resampling.BOX
    )
    return np.asarray(resized, dtype=np.float32) / 255.0


def _box_mean(values: np.ndarray) -> np.ndarray:
    padded = np.pad(values, 1)
    height, width = values.shape
    total = sum(padded[i : i + height, j : j + width] for i in range(3) for j in range(3))
    return total / 9.0


def _to_grey(image: Image.Image) -> Image.Image:
    """Greyscale on white, whatever the mode (transparent PNGs get a white background)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    if image.mode == "L":
        return image
    # The darkest channel, not luminance: yellow sulfur or light colours stay full ink.
    return Image.fromarray(np.asarray(image.convert("RGB")).min(axis=2))


def load_image(path: str | Path) -> Image.Image:
    """Open an image file fully; raises ValueError with a clear message if it is not one."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        raise ValueError(f"no such file: {path}") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a readable image: {path} ({exc.__class__.__name__})") from None


def with_size(style: Style, size: int) -> Style:
    return replace(style, size=size)

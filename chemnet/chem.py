"""RDKit in one place: parsing, canonical forms, formula, descriptors, similarity, 2D and 3D."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache

from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import AllChem, Crippen, Descriptors, Draw, Lipinski, rdMolDescriptors
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.Draw import rdMolDraw2D

logger = logging.getLogger(__name__)

ORGANIC_ELEMENTS = frozenset({"C", "H", "N", "O", "S", "P", "F", "Cl", "Br", "I", "B", "Si", "Se"})
DESCRIPTOR_NAMES = (
    "logp",
    "tpsa",
    "hbd",
    "hba",
    "rotatable_bonds",
    "rings",
    "heavy_atoms",
)


@contextmanager
def quiet_rdkit():
    """Silence RDKit's C++ warnings, which would flood logs during bulk parsing."""
    RDLogger.DisableLog("rdApp.*")
    try:
        yield
    finally:
        RDLogger.EnableLog("rdApp.*")


def parse_smiles(smiles: str | None) -> Chem.Mol | None:
    """Parse and sanitise a SMILES string; None when RDKit rejects it."""
    if not smiles or not isinstance(smiles, str) or len(smiles) > 2000:
        return None
    with quiet_rdkit():
        try:
            return Chem.MolFromSmiles(smiles)
        except Exception:  # RDKit raises a few C++ exceptions besides returning None
            return None


def canonical_smiles(smiles: str | None) -> str | None:
    """The RDKit canonical SMILES (isomeric), or None for an invalid input."""
    mol = parse_smiles(smiles)
    return Chem.MolToSmiles(mol) if mol is not None else None


def stereo_free_smiles(smiles: str | None) -> str | None:
    """Canonical SMILES with stereochemistry removed, the form the models read and write."""
    mol = parse_smiles(smiles)
    if mol is None:
        return None
    Chem.RemoveStereochemistry(mol)
    return Chem.MolToSmiles(mol)


def is_valid_smiles(smiles: str | None) -> bool:
    return parse_smiles(smiles) is not None


def inchikey(mol: Chem.Mol) -> str | None:
    with quiet_rdkit():
        key = Chem.MolToInchiKey(mol)
    return key or None


def inchi(mol: Chem.Mol) -> str | None:
    with quiet_rdkit():
        text = Chem.MolToInchi(mol)
    return text or None


def inchikey_from_smiles(smiles: str | None) -> str | None:
    mol = parse_smiles(smiles)
    return inchikey(mol) if mol is not None else None


def formula(mol: Chem.Mol) -> str:
    return rdMolDescriptors.CalcMolFormula(mol)


def mol_weight(mol: Chem.Mol) -> float:
    return round(Descriptors.MolWt(mol), 3)


def descriptors(mol: Chem.Mol) -> dict:
    """The descriptors the dataset, the image model and the chat answer share."""
    return {
        "logp": round(Crippen.MolLogP(mol), 3),
        "tpsa": round(rdMolDescriptors.CalcTPSA(mol), 2),
        "hbd": Lipinski.NumHDonors(mol),
        "hba": Lipinski.NumHAcceptors(mol),
        "rotatable_bonds": rdMolDescriptors.CalcNumRotatableBonds(mol),
        "rings": rdMolDescriptors.CalcNumRings(mol),
        "heavy_atoms": mol.GetNumHeavyAtoms(),
    }


def lipinski(mw: float, desc: dict) -> dict:
    """Lipinski's rule of five: the counted violations and a drug-likeness verdict."""
    rules = {
        "mw <= 500": mw <= 500,
        "logP <= 5": desc["logp"] <= 5,
        "H-bond donors <= 5": desc["hbd"] <= 5,
        "H-bond acceptors <= 10": desc["hba"] <= 10,
    }
    violations = [rule for rule, ok in rules.items() if not ok]
    return {"violations": len(violations), "failed": violations, "passes": len(violations) <= 1}


def elements(mol: Chem.Mol) -> set[str]:
    return {atom.GetSymbol() for atom in mol.GetAtoms()}


def is_organic(mol: Chem.Mol) -> bool:
    """Carbon-containing and built only from the usual organic elements."""
    symbols = elements(mol)
    return "C" in symbols and symbols <= ORGANIC_ELEMENTS


def fragment_count(mol: Chem.Mol) -> int:
    return len(Chem.GetMolFrags(mol))


def tanimoto(smiles_a: str | None, smiles_b: str | None) -> float:
    """Morgan (radius 2, 2048 bits) Tanimoto similarity; 0.0 when either side is invalid."""
    fp_a, fp_b = _fingerprint(smiles_a), _fingerprint(smiles_b)
    if fp_a is None or fp_b is None:
        return 0.0
    return float(DataStructs.TanimotoSimilarity(fp_a, fp_b))


@lru_cache(maxsize=4096)
def _fingerprint(smiles: str | None):
    mol = parse_smiles(smiles)
    if mol is None:
        return None
    # Same bits as the deprecated GetMorganFingerprintAsBitVect, which logs a warning per
    # call; a generator per call since sharing one across the API's threads is not documented.
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return generator.GetFingerprint(mol)


def draw_png(smiles: str, size: int = 300) -> bytes | None:
    """A 2D depiction as PNG bytes; None for an invalid SMILES."""
    mol = parse_smiles(smiles)
    if mol is None:
        return None
    drawer = rdMolDraw2D.MolDraw2DCairo(size, size)
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def draw_grid(smiles_list: list[str], legends: list[str], size: int = 250):
    """A PIL image of several molecules side by side; invalid ones are left blank."""
    mols = [parse_smiles(s) or Chem.Mol() for s in smiles_list]
    return Draw.MolsToGridImage(
        mols, molsPerRow=len(mols), subImgSize=(size, size), legends=legends
    )


def conformer_molblock(smiles: str, seed: int = 42) -> str | None:
    """A 3D MOL block: ETKDG embedding, then MMFF (or UFF) optimisation; None when it fails."""
    mol = parse_smiles(smiles)
    if mol is None or mol.GetNumHeavyAtoms() > 150:
        return None
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) != 0:
            logger.warning("3D embedding failed for %s", smiles)
            return None
    try:
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMolecule(mol, maxIters=500)
        else:
            AllChem.UFFOptimizeMolecule(mol, maxIters=500)
    except Exception:  # an unparameterised atom leaves the ETKDG geometry, still usable
        logger.warning("force-field optimisation failed for %s", smiles)
    return Chem.MolToMolBlock(mol)

"""The answer dict of DESIGN.md: its fields, filled from a structure, a store compound or a
model prediction, and the sentence that answers the question.
"""

from __future__ import annotations

from urllib.parse import quote

from chemnet import chem, names

MAX_SYNONYMS = 12
IMAGE_ROUTE = "/api/image"
ANSWER_FIELDS = (
    "query", "mode", "status", "source", "name", "formula", "molecular_weight",
    "canonical_smiles", "inchi", "inchikey", "cid", "synonyms", "descriptors", "confidence",
    "alternatives", "image_url", "message",
)  # fmt: skip


def blank_answer(query: str, mode: str) -> dict:
    """An answer with every field present and nothing found yet."""
    answer = dict.fromkeys(ANSWER_FIELDS)
    answer.update(query=query, mode=mode, status="not_found", synonyms=[], alternatives=[],
                  descriptors={}, message="")
    answer.update(asked=None, reason=None)
    return answer


def image_url(smiles: str) -> str:
    """The API route that draws a structure (relative, so any host serving the API works)."""
    return f"{IMAGE_ROUTE}?smiles={quote(smiles, safe='')}"


def fill_structure(answer: dict, smiles: str) -> bool:
    """Compute formula, MW, identifiers and descriptors with RDKit; False for a bad SMILES."""
    mol = chem.parse_smiles(smiles)
    if mol is None:
        return False
    weight = chem.mol_weight(mol)
    desc = chem.descriptors(mol)
    answer.update(
        status="ok",
        formula=chem.formula(mol),
        molecular_weight=weight,
        canonical_smiles=chem.canonical_smiles(smiles),
        inchi=chem.inchi(mol),
        inchikey=chem.inchikey(mol),
        descriptors={**desc, "lipinski": chem.lipinski(weight, desc)},
    )
    answer["image_url"] = image_url(answer["canonical_smiles"])
    return True


def fill_compound(answer: dict, compound) -> None:
    """Name, CID and synonyms from a store compound; the rest from its structure."""
    if not fill_structure(answer, compound.smiles):
        answer.update(status="ok", formula=compound.formula, molecular_weight=compound.mw,
                      inchi=compound.inchi, inchikey=compound.inchikey)
    answer.update(
        name=compound.name or compound.iupac_name,
        cid=compound.cid if compound.cid and compound.cid > 0 else None,
        synonyms=synonyms_of(compound),
    )
    answer["cas"] = compound.cas or None
    answer["iupac_name"] = compound.iupac_name or None


def synonyms_of(compound) -> list[str]:
    seen = {names.lookup_key(compound.name or "")}
    found = []
    for name in [compound.iupac_name, *compound.synonyms]:
        key = names.lookup_key(name or "")
        if key and key not in seen and not names.is_cas(name):
            seen.add(key)
            found.append(name)
        if len(found) == MAX_SYNONYMS:
            break
    return found


def connectivity(inchikey: str | None) -> str | None:
    """The first InChIKey block: the skeleton, blind to stereo, isotopes and charge state."""
    return inchikey.split("-")[0] if inchikey else None


def smiles_from_inchi(text: str) -> str:
    from rdkit import Chem

    with chem.quiet_rdkit():
        try:
            mol = Chem.MolFromInchi(text)
        except Exception:  # RDKit's InChI reader raises on some malformed strings
            mol = None
    return Chem.MolToSmiles(mol) if mol is not None else ""


def use_match(result: dict, match, others: list, subject: str) -> None:
    """Answer from a store Match; typo matches say so and list the other close names."""
    fill_compound(result, match.compound)
    result.update(source="database", confidence=round(match.score / 100, 3))
    if match.how == "fuzzy":
        result["reason"] = (f"closest database name to '{subject[:60]}' "
                            f"(similarity {match.score:.0f}/100)")
        result["alternatives"] = [
            {"name": m.compound.name, "smiles": m.compound.canonical_smiles or m.compound.smiles,
             "confidence": round(m.score / 100, 3)} for m in others
        ]
    else:
        result["reason"] = f"exact {HOW_WORDS.get(match.how, match.how)} match"


def use_prediction(result: dict, prediction, store, name: str | None = None) -> None:
    """Answer from a model Prediction; name, CID and synonyms only for a known structure.

    `name` is shown for an unknown structure (the name model's input; None for an image).
    """
    fill_structure(result, prediction.canonical_smiles)
    result.update(source="model", name=name, confidence=round(prediction.confidence, 4))
    result["alternatives"] = [
        {"name": None, "smiles": smiles, "confidence": round(float(conf), 4)}
        for smiles, conf in (prediction.alternatives or [])
    ]
    known = store.by_inchikey(result["inchikey"]) if store and result["inchikey"] else None
    if known is not None:  # synonyms only for a structure the database knows
        result.update(name=known.name or name, synonyms=synonyms_of(known),
                      cid=known.cid if known.cid and known.cid > 0 else None)


FIELD_WORDS = {"canonical_smiles": "SMILES", "inchikey": "InChIKey", "inchi": "InChI",
               "cid": "PubChem CID", "formula": "formula", "logp": "logP", "tpsa": "TPSA"}
HOW_WORDS = {"name": "name", "cas": "CAS number", "cid": "PubChem CID", "inchikey": "InChIKey",
             "smiles": "structure"}
SOURCE_WORDS = {"model": "name model", "database": "database", "smiles": "your structure",
                "image": "image model"}


def describe(result: dict) -> str:
    """One or two sentences answering the question, naming the source and why it was used."""
    name = result.get("name") or result.get("canonical_smiles")
    asked = result.get("asked")
    value = result.get(asked) if asked else None
    if asked == "molecular_weight":
        text = f"The molecular weight of {name} is {result['molecular_weight']:.2f} g/mol."
    elif asked == "lipinski":
        lip = result["descriptors"].get("lipinski", {})
        verdict = "passes" if lip.get("passes") else "fails"
        text = f"{name} {verdict} Lipinski's rule of five ({lip.get('violations')} violations)."
    elif asked in ("logp", "tpsa"):
        text = f"The {FIELD_WORDS[asked]} of {name} is {result['descriptors'][asked]}."
    elif asked == "synonyms":
        listed = ", ".join(result["synonyms"][:8]) or "none known"
        text = f"Other names of {name}: {listed}."
    elif asked and value not in (None, "", []):
        text = f"The {FIELD_WORDS.get(asked, asked)} of {name} is {value}."
    else:
        text = f"{name}: {result['formula']}, {result['molecular_weight']:.2f} g/mol."
    source = SOURCE_WORDS.get(result.get("source"), result.get("source"))
    why = f" ({result['reason']})" if result.get("reason") else ""
    return f"{text} Source: {source}{why}."


def format_answer(result: dict) -> str:
    """A plain-text rendering of an answer for the terminal."""
    lines = [result["message"]]
    if result["status"] == "ok":
        for label, key in (("SMILES", "canonical_smiles"), ("InChIKey", "inchikey"),
                           ("CID", "cid"), ("confidence", "confidence")):
            if result.get(key) is not None:
                lines.append(f"  {label}: {result[key]}")
        if result["synonyms"]:
            lines.append(f"  synonyms: {', '.join(result['synonyms'][:6])}")
    return "\n".join(lines)

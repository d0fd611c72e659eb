"""Read a chat message: which molecule it names, in which form, and what it asks about.

"Tell me about Caffeine", "what is the molecular weight of aspirin?", "show me CC(=O)O",
"58-08-2" and "CAFFEINE" all name one molecule; "hello" names none.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chemnet import chem, names

MAX_MESSAGE_CHARS = 500
MAX_SUBJECT_CHARS = 300

# The property a question asks about, by the answer field that holds it. Checked in order, so
# the longer phrases win over their parts ("molecular formula" before "formula").
PROPERTIES = (
    ("molecular_weight", r"molecular\s+weight|molar\s+mass|molecular\s+mass|mol\.?\s*wt|\bmw\b"
                         r"|\bweight\b|\bmass\b|\bweigh\b|how\s+heavy"),
    ("formula", r"(?:molecular\s+|chemical\s+|sum\s+)?formula"),
    ("canonical_smiles", r"\bsmiles(?:\s+string)?\b|\bstructure\b"),
    ("inchikey", r"\binchi\s*key\b"),
    ("inchi", r"\binchi\b"),
    ("synonyms", r"\bsynonyms?\b|other\s+names|also\s+called|also\s+known\s+as"),
    ("logp", r"\blog\s*p\b|lipophilicity"),
    ("tpsa", r"\btpsa\b|polar\s+surface\s+area"),
    ("lipinski", r"lipinski|rule\s+of\s+(?:five|5)|drug[-\s]?like(?:ness)?"),
    ("cid", r"\bpubchem\s+(?:cid|id)\b|\bcid\b"),
)  # fmt: skip

# Leading words that carry the request, not the molecule; stripped repeatedly.
_LEAD = re.compile(
    r"^(?:please|pls|plz|ok(?:ay)?|so|and|now|hey|hi|hello|yo|well|"
    r"can\s+you|could\s+you|would\s+you|will\s+you|kindly|"
    r"i\s+(?:want|would\s+like|'d\s+like|need)\s+(?:to\s+(?:know|see)|info(?:rmation)?)|"
    r"tell\s+me|show\s+me|give\s+me|let\s+me\s+see|show|give|tell|draw|display|render|"
    r"find|search(?:\s+for)?|look\s*up|lookup|describe|explain|identify|get|"
    r"what(?:'s|\s+is|\s+are|\s+was)?|whats|which\s+is|who\s+is|how\s+about|"
    r"info(?:rmation)?|details?|data|facts?|properties|everything|something|more|"
    r"the|a|an|me|us|about|on|of|for|is|are|with|regarding|concerning|"
    r"molecule|compound|chemical|substance|name[ds]?|called)"
    r"(?:\s+|\s*[,:;]\s*|$)",
    re.IGNORECASE,
)
# Trailing words and punctuation that are not part of a name.
_TRAIL = re.compile(
    r"(?:\s+(?:please|pls|thanks|thank\s+you|molecule|compound|chemical|substance|"
    r"for\s+me|again|now|then|is|are|of|in\s+3d|in\s+2d|3d|2d|info(?:rmation)?|details|data|"
    r"facts|properties)|[\s?!.,;:'\"`]+)$",
    re.IGNORECASE,
)
_QUOTES = "\"'`“”‘’«»"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CID = re.compile(r"^(?:pubchem\s*)?cid\s*[:#]?\s*(\d{1,10})$", re.IGNORECASE)
_CID_ANYWHERE = re.compile(r"\b(?:pubchem\s*)?cid\s*[:#]?\s*(\d{1,10})\b", re.IGNORECASE)
_INCHIKEY = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
_INCHI = re.compile(r"^InChI=1S?/\S+$")
_SMILES_ONLY_CHARS = re.compile(r"[()\[\]=#@/\\+%0-9]")
_SMILES_ALPHABET = re.compile(r"^[A-Za-z0-9@+\-\[\]()=#$/\\%.:*]+$")
_BRACKET_ATOM = re.compile(r"\[[^\[\]]{1,12}\]")
# Outside brackets a SMILES spells only organic-subset atoms; any other letter means a word.
_OUTSIDE_BRACKET_ATOMS = re.compile(r"^(?:Cl|Br|[BCNOPSFIbcnops])*$")

CHIT_CHAT = frozenset(
    "hello hi hey hiya howdy yo thanks thank you thx bye goodbye ok okay yes no help test "
    "testing good morning good evening good afternoon good night how are you who are you "
    "what can you do nothing anything something nice cool great lol hmm sure".split()
) | frozenset({"thank you", "good morning", "good evening", "how are you", "who are you",
               "what can you do", "what do you do", "help me"})

# Pieces of chemical nomenclature. A subject unknown to the store and without any of them is
# most likely not a molecule, so the name model is not asked to invent one.
_CHEMICAL_MORPHEMES = re.compile(
    r"\d|meth|eth|prop|but|pent|hex|hept|oct|non|dec|yl|ane|ene|yne|ol\b|ole|one|al\b|oic|"
    r"ic\b|ide|ate\b|ite\b|amin|amid|acid|oxy|oxo|hydr|chlor|brom|fluor|iod|nitr|phen|benz|"
    r"cyclo|aza|oxa|thi|phos|sulf|carb|ium\b|ine\b|ose\b|in\b|ase\b|[(\[,]",
    re.IGNORECASE,
)


@dataclass
class Query:
    """What one message asks for.

    Attributes:
        text: the message, cleaned (control characters removed, spaces collapsed).
        subject: the molecule as the message names it ("" when it names none).
        kind: "smiles", "cas", "inchikey", "inchi", "cid", "name" or "none".
        asked: the answer field the message asks about (e.g. "molecular_weight"), or None.
        problem: why there is no subject ("empty", "too_long", "chit_chat"), or None.
    """

    text: str
    subject: str
    kind: str
    asked: str | None = None
    problem: str | None = None


def clean(message: object) -> str:
    """Unicode-normalise, drop control characters and collapse whitespace."""
    text = message if isinstance(message, str) else ("" if message is None else str(message))
    text = unicodedata.normalize("NFKC", text[: MAX_MESSAGE_CHARS * 4])
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def parse_message(message: object) -> Query:
    """Turn a chat message into a Query; never raises.

    Args:
        message: the user's text (anything else is converted to text).

    Returns:
        The Query; its problem is set when the message names no molecule.
    """
    raw = message if isinstance(message, str) else str(message or "")
    text = clean(message)
    if len(raw) > MAX_MESSAGE_CHARS:
        return Query(text=text[:80], subject="", kind="none", problem="too_long")
    if not text:
        return Query(text=text, subject="", kind="none", problem="empty")
    if text.lower().strip(" ?!.") in CHIT_CHAT:
        return Query(text=text, subject="", kind="none", problem="chit_chat")
    cid = _CID_ANYWHERE.search(text)
    if cid:
        return Query(text=text, subject=cid.group(1), kind="cid")
    asked, subject = extract_subject(text)
    if not subject:
        return Query(text=text, subject="", kind="none", asked=asked, problem="empty")
    if subject.lower() in CHIT_CHAT:
        return Query(text=text, subject="", kind="none", asked=asked, problem="chit_chat")
    if len(subject) > MAX_SUBJECT_CHARS:
        return Query(text=text[:80], subject="", kind="none", asked=asked, problem="too_long")
    kind, subject = classify(subject)
    return Query(text=text, subject=subject, kind=kind, asked=asked)


def extract_subject(text: str) -> tuple[str | None, str]:
    """Split a message into (asked property, the words naming the molecule)."""
    if is_structure_token(text):
        return None, text  # a bare SMILES or InChI: never strip anything from it
    asked = None
    subject = text
    for field, pattern in PROPERTIES:
        found = re.search(pattern, subject, re.IGNORECASE)
        if found:
            asked = field
            subject = _drop_property(subject, found)
            break
    return asked, strip_filler(subject)


def _drop_property(text: str, found: re.Match) -> str:
    """Remove the property phrase with its "of"/"for" and a possessive "'s" on the name."""
    before, after = text[: found.start()], text[found.end():]
    after = re.sub(r"^\s*(?:of|for|in)\b", " ", after, flags=re.IGNORECASE)
    before = re.sub(r"(?:'s|’s|s')\s*$", " ", before)
    return f"{before} {after}"


def strip_filler(text: str) -> str:
    """Strip request words, quotes and punctuation around the molecule's name."""
    previous = None
    text = text.strip()
    while text != previous:
        previous = text
        if is_structure_token(text):
            return text
        text = _LEAD.sub("", text, count=1).strip()
        text = _TRAIL.sub("", text).strip()
        text = text.strip(_QUOTES).strip()
        text = re.sub(r"(?:'s|’s)$", "", text)
    return text


def is_structure_token(text: str) -> bool:
    """A single token that is a SMILES with SMILES-only characters, or an InChI."""
    if " " in text or not text:
        return False
    if _INCHI.match(text):
        return True
    return bool(_SMILES_ONLY_CHARS.search(text)) and chem.parse_smiles(text) is not None


def classify(subject: str) -> tuple[str, str]:
    """The kind of identifier a subject is, with the subject in its normal form."""
    found = _CID.match(subject)
    if found:
        return "cid", found.group(1)
    if names.CAS_PATTERN.match(subject):
        return "cas", subject
    if _INCHIKEY.match(subject.upper()) and " " not in subject:
        return "inchikey", subject.upper()
    if _INCHI.match(subject):
        return "inchi", subject
    if smiles_shaped(subject):
        return "smiles", subject  # valid or not: a broken SMILES must not be read as a name
    return "name", subject


def smiles_shaped(text: str) -> bool:
    """True when text is written like a SMILES (whether or not RDKit accepts it).

    Outside brackets only organic-subset atoms may appear, so words such as "Caffeine",
    "ETHANOL" or "water" never count, while "CCO", "c1ccccc1" and "CC(=O" do.
    """
    if not text or " " in text or len(text) > MAX_SUBJECT_CHARS:
        return False
    if not _SMILES_ALPHABET.match(text) or text.isdigit():
        return False
    if text.isalpha() and text.islower():
        return False  # "con", "bison": lowercase words, even when aromatic atoms spell them
    letters = re.sub(r"[^A-Za-z]", "", _BRACKET_ATOM.sub("", text))
    return bool(_OUTSIDE_BRACKET_ATOMS.match(letters))


def looks_chemical(subject: str) -> bool:
    """True when a name contains a piece of chemical nomenclature (or a digit, bracket, comma)."""
    return bool(_CHEMICAL_MORPHEMES.search(subject))

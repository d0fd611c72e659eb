"""Chemical names: lookup keys, CAS numbers, catalogue codes, and the names a model learns from."""

from __future__ import annotations

import re
import string
import unicodedata

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "ο": "omicron", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau",
    "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}  # fmt: skip

GREEK_TABLE = str.maketrans(GREEK)

CAS_PATTERN = re.compile(r"^\d{2,7}-\d{2}-\d$")
# Vendor and registry codes such as "stk366316", "NSC 147337", "AC1L1XYZ", "ZINC000123":
# letters then at least three digits, optionally more letters, digits and dashes, no spaces
# inside the tail. They name a bottle, not a structure, so a model cannot learn them.
CATALOGUE_PATTERN = re.compile(r"^[a-z]{1,8}[- ]?\d{3,}[a-z0-9-]*$|^[a-z0-9]*\d{5,}[a-z0-9]*$")
INCHIKEY_LIKE = re.compile(r"^[a-z]{14}-[a-z]{8,10}")
INDEX_SUFFIX = re.compile(r"\((?:\d+ci|van|iupac|usan|inn|jan|ban|dcf|usp|nf|mart\.?)\)$")
NON_ALNUM = re.compile(r"[^0-9a-z]+")

MAX_NAME_LENGTH = 150
KEY_ALPHABET = string.ascii_lowercase + string.digits  # the characters a lookup key keeps


def lookup_key(text: str) -> str:
    """The form under which a name is indexed.

    Case, spacing, punctuation and spelled-out Greek letters do not matter: "Alpha-Tocopherol",
    "α-tocopherol" and ".alpha.-tocopherol" share one key.
    """
    text = unicodedata.normalize("NFKC", text).lower().translate(GREEK_TABLE)
    return NON_ALNUM.sub("", text)


def one_edit_keys(key: str) -> set[str]:
    """Every lookup key one deletion, transposition, substitution or insertion from `key`.

    Most typos are a single slip, so looking these up exactly finds them far faster than a
    similarity scan over all names.
    """
    splits = [(key[:i], key[i:]) for i in range(len(key) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in KEY_ALPHABET}
    inserts = {a + c + b for a, b in splits for c in KEY_ALPHABET}
    return (deletes | swaps | replaces | inserts) - {key}


def is_cas(text: str) -> bool:
    """True for a well-formed CAS registry number whose check digit is right."""
    text = text.strip()
    if not CAS_PATTERN.match(text):
        return False
    digits = text.replace("-", "")
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (i + 1) for i, d in enumerate(reversed(body)))
    return total % 10 == check


def is_catalogue_code(text: str) -> bool:
    return bool(CATALOGUE_PATTERN.match(text.strip().lower()))


def is_learnable_name(name: str) -> bool:
    """A name that describes a structure rather than an identifier or a registry entry."""
    text = name.strip().lower()
    if not 3 <= len(text) <= MAX_NAME_LENGTH:
        return False
    if is_cas(text) or is_catalogue_code(text) or INDEX_SUFFIX.search(text):
        return False
    if INCHIKEY_LIKE.match(text):
        return False
    return any(ch.isalpha() for ch in text)


def model_names(
    iupac: str, common: str, synonyms: list[str], max_synonyms: int = 2
) -> list[tuple[str, str]]:
    """The (name, kind) pairs a molecule contributes to the model dataset.

    The IUPAC name and the common name come first; then the first few synonyms in the table's
    order (PubChem ranks synonyms by use), skipping any whose lookup key repeats an earlier one.
    """
    pairs: list[tuple[str, str]] = []
    keys: set[str] = set()
    candidates = [(iupac, "iupac"), (common, "common")] + [(s, "synonym") for s in synonyms]
    synonyms_taken = 0
    for name, kind in candidates:
        name = name.strip().lower()
        key = lookup_key(name)
        if not key or key in keys or not is_learnable_name(name):
            continue
        if kind == "synonym":
            if synonyms_taken >= max_synonyms:
                break
            synonyms_taken += 1
        keys.add(key)
        pairs.append((name, kind))
    return pairs

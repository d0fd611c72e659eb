"""Chat answers in three modes: the name model (ai), the compound store (fallback), or both (auto).

`answer("Tell me about Caffeine", mode="auto")` returns the answer dict of DESIGN.md. The store
and the models are loaded once per process and reused, so a second call is fast.
`python -m chemnet.chat "Tell me about Caffeine" [--mode ai|fallback|auto] [--json]`.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import re
import sys
import threading
from pathlib import Path

from chemnet import chem, names, paths
from chemnet.answer import (
    ANSWER_FIELDS,
    blank_answer,
    connectivity,
    describe,
    fill_compound,
    fill_structure,
    format_answer,
    smiles_from_inchi,
    use_match,
    use_prediction,
)
from chemnet.calibrate import DEFAULT_THRESHOLD, load_threshold
from chemnet.matching import exact_match, one_edit_matches, plausible, store_lookup
from chemnet.query import MAX_MESSAGE_CHARS, Query, looks_chemical, parse_message

logger = logging.getLogger(__name__)

MODES = ("auto", "ai", "fallback")
HELP = ("Ask me about a molecule: a name (caffeine), a sentence (\"what is the molecular weight "
        "of aspirin?\"), a SMILES (CC(=O)O) or a CAS number (58-08-2).")
__all__ = ["ANSWER_FIELDS", "ChatEngine", "accept_model_answer", "answer", "answer_image",
           "connectivity", "get_engine", "is_systematic"]


def accept_model_answer(prediction, store_match, threshold: float) -> tuple[bool, str]:
    """Whether auto mode should answer with the model's structure, and why.

    Args:
        prediction: the name model's Prediction (valid, canonical_smiles, confidence), or None
            when no model is available.
        store_match: the store's Match for the same name (how, compound), or None.
        threshold: the calibrated confidence threshold.

    Returns:
        (accepted, reason) where reason is a short sentence for the user.
    """
    if prediction is None:
        return False, "the name model is not available"
    if not prediction.valid or not prediction.canonical_smiles:
        return False, "the name model's output is not a valid structure"
    confidence = float(prediction.confidence)
    if confidence < threshold:
        return False, (f"the model's confidence {confidence:.2f} is below the threshold "
                       f"{threshold:.2f}")
    confident = f"the model is confident ({confidence:.2f} >= {threshold:.2f})"
    if store_match is None:
        return True, f"{confident}; the database has no entry for this name"
    predicted = connectivity(chem.inchikey_from_smiles(prediction.canonical_smiles))
    agrees = predicted == connectivity(store_match.compound.inchikey)
    if agrees:
        return True, f"{confident} and agrees with the database"
    if store_match.how != "fuzzy":
        return False, "the model disagrees with the database entry for this name"
    if not is_systematic(str(prediction.input)):
        # A trivial name one typo from a known one is that compound misspelt; a systematic
        # name one edit from another is usually a different molecule, which the model reads.
        return False, f"the name looks like a typo of '{store_match.compound.name}'"
    return True, f"{confident}; the database has no exact entry for this systematic name"


def is_systematic(name: str) -> bool:
    """True for a name with locants, brackets or commas ("4-ethylheptan-3-ol"), not "caffiene"."""
    return bool(re.search(r"\d|[(\[{,]", name))


class ChatEngine:
    """Answers chat messages; holds the store and the models, loaded on first use.

    Args:
        store_path: the SQLite compound store (default: data/chemnet.sqlite).
        name_model: the name-to-SMILES checkpoint (default: models/name2smiles.pth).
        image_model: the image-to-SMILES checkpoint (default: models/image2smiles.pth).
        beam: beam width for the name model (1 is greedy and fastest).
        threads: torch intra-op threads for the process, set when a model is first loaded;
            one query decodes fastest on one thread when the CPU is shared (measured: 0.23 s
            on one thread, 3.3 s on two under load). None leaves torch's setting alone.
    """

    def __init__(self, store_path: Path | str | None = None, name_model: Path | str | None = None,
                 image_model: Path | str | None = None, beam: int = 1,
                 threads: int | None = 1):
        self.store_path = Path(store_path or paths.STORE_SQLITE)
        self.name_model = Path(name_model or paths.NAME_MODEL)
        self.image_model = Path(image_model or paths.IMAGE_MODEL)
        self.beam = beam
        self.threads = threads
        self._lock = threading.Lock()
        self._predictors: dict[Path, tuple] = {}

    # Resources -----------------------------------------------------------------------------

    def store(self):
        """The compound store, or None when it has not been built."""
        from chemnet.store import get_store

        try:
            return get_store(self.store_path)
        except FileNotFoundError:
            return None

    def predictor(self, path: Path):
        """(predictor, None) for a loadable checkpoint, else (None, why not); reloads on change."""
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return None, f"{path.name} not found in {path.parent}"
        with self._lock:
            cached = self._predictors.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, *self._load(path, self.threads))
                self._predictors[path] = cached
        return cached[1], cached[2]

    @staticmethod
    def _load(path: Path, threads: int | None):
        try:
            from chemnet.predict import load_predictor

            if threads:
                import torch

                torch.set_num_threads(threads)

            predictor = load_predictor(path)
        except Exception as exc:  # a corrupt or foreign checkpoint must not break the chat
            logger.warning("cannot load %s: %s", path, exc)
            return None, f"cannot load {path.name}: {exc}"
        logger.info("loaded %s", path)
        return predictor, None

    def threshold(self) -> tuple[float, bool]:
        """(threshold, calibrated?) for auto mode."""
        value = load_threshold(self.name_model)
        return (DEFAULT_THRESHOLD, False) if value is None else (value, True)

    def warm(self) -> None:
        """Load the store, its typo index and the name model now, so no user waits for them."""
        store = self.store()
        if store is not None:
            store.fuzzy("warm up the typo index")
        self.predictor(self.name_model)

    # Answers -------------------------------------------------------------------------------

    def answer(self, message: object, mode: str = "auto") -> dict:
        """Answer one chat message; never raises on user input.

        Args:
            message: the user's text.
            mode: "ai" (name model), "fallback" (store) or "auto" (model when trustworthy).

        Returns:
            The answer dict (fields of DESIGN.md plus "asked" and "reason").
        """
        mode = mode if mode in MODES else "auto"
        query = parse_message(message)
        result = blank_answer(query.text, mode)
        result["asked"] = query.asked
        try:
            self._route(query, mode, result)
        except Exception:  # the chat must answer even when a component misbehaves
            logger.exception("chat failed for %r", query.text[:80])
            result.update(status="error", message="Sorry, something went wrong answering that.")
        if result["status"] == "ok":
            result["message"] = describe(result)
        return result

    def _route(self, query: Query, mode: str, result: dict) -> None:
        if query.problem:
            result["message"] = _problem_message(query, result)
        elif query.kind in ("smiles", "inchi"):
            self._from_structure(query, result)
        elif query.kind in ("cas", "cid", "inchikey") or mode == "fallback":
            self._from_store(query, result)
        elif mode == "ai":
            self._from_model(query, result)
        else:
            self._auto(query, result)

    def _from_structure(self, query: Query, result: dict) -> None:
        smiles = query.subject
        if query.kind == "inchi":
            smiles = smiles_from_inchi(query.subject)
        if not fill_structure(result, smiles):
            store = self.store()
            known = store.by_name(query.subject) if store else None
            if known is not None:  # "co2" is written like a SMILES but is a name
                use_match(result, exact_match(known, "name"), [], query.subject)
                return
            result.update(status="not_found", source="smiles",
                          message=f"'{query.subject[:80]}' is not a valid {query.kind.upper()}: "
                                  "RDKit cannot parse or sanitise it.")
            return
        result.update(source="smiles", confidence=1.0, reason="the message gives the structure")
        store = self.store()
        known = store.by_smiles(smiles) if store else None
        if known is not None:
            fill_compound(result, known)

    def _from_store(self, query: Query, result: dict) -> None:
        store = self.store()
        if store is None:
            result.update(status="error", message="The compound store is not built yet: run "
                                                  "`python -m chemnet.data build`.")
            return
        match, others = store_lookup(store, query)
        if match is None:
            result["message"] = _not_known(query)
            return
        use_match(result, match, others, query.subject)

    def _from_model(self, query: Query, result: dict) -> None:
        store = self.store()
        # Only exact names here: ai mode never answers from a typo match, so skip the slow path.
        match, _ = store_lookup(store, query, fuzzy=False) if store else (None, [])
        if match is None and not looks_chemical(query.subject):
            result["message"] = _not_known(query) + " It does not look like a chemical name."
            return
        predictor, error = self.predictor(self.name_model)
        if predictor is None:
            result.update(status="error", message=f"Name model not available ({error}). Train "
                                                  "one on the Training page or use fallback mode.")
            return
        prediction = self._predict(predictor, query.subject)
        if not prediction.valid:
            result.update(status="not_found", source="model",
                          message=f"The name model's output for '{query.subject[:80]}' is not a "
                                  f"valid structure ({prediction.smiles[:80]!r}).")
            return
        use_prediction(result, prediction, store, name=query.subject)
        result["reason"] = "ai mode answers with the name model"
        if match is not None and match.how != "fuzzy":
            agrees = connectivity(result["inchikey"]) == connectivity(match.compound.inchikey)
            result["reason"] += ("; it agrees with the database" if agrees else
                                 f"; it differs from the database entry ({match.compound.name})")

    def _auto(self, query: Query, result: dict) -> None:
        store = self.store()
        exact, _ = store_lookup(store, query, fuzzy=False) if store else (None, [])
        close = []
        if store is not None and exact is None:  # one-edit typos: milliseconds, so always
            close = plausible(one_edit_matches(store, query.subject), query.subject)
        known = exact or (close[0] if close else None)
        predictor, error = self.predictor(self.name_model)
        prediction = None
        if predictor is not None and (known is not None or looks_chemical(query.subject)):
            prediction = self._predict(predictor, query.subject)
        threshold, calibrated = self.threshold()
        accepted, reason = accept_model_answer(prediction, known, threshold)
        if predictor is None:
            reason = f"the name model is not available: {error}"
        elif prediction is None:
            reason = "the text does not look like a chemical name"
        elif not calibrated:
            reason += " [uncalibrated threshold]"
        if accepted:
            use_prediction(result, prediction, store, name=query.subject)
            result["reason"] = reason
            return
        match, others = (known, close[1:]) if known or not store else store_lookup(store, query)
        if match is not None and _doubtful(match, prediction, query.subject):
            _undecided(result, match, prediction, query.subject, reason)
        elif match is not None:
            use_match(result, match, others, query.subject)
            result["reason"] = f"{result['reason']}; not the model: {reason}"
        else:
            result["message"] = _not_known(query) + f" Not using the model: {reason}."
            result["reason"] = reason

    def _predict(self, predictor, subject: str):
        # The model learned lower-case names (the dataset lower-cases them).
        return predictor.predict([subject.lower()], beam=self.beam)[0]

    def answer_image(self, image, formula: str | None = None) -> dict:
        """Read a molecule from an image with the image model.

        Args:
            image: a PIL image or a path to one.
            formula: an optional molecular formula that helps the model.

        Returns:
            An answer dict with source "image", or status "error" when no image model is there.
        """
        result = blank_answer("(image)", "ai")
        predictor, error = self.predictor(self.image_model)
        if predictor is None:
            result.update(status="error", source="image",
                          message=f"Image model not available ({error}).")
            return result
        try:
            prediction = _predict_image(predictor, image, formula)
        except Exception as exc:  # an unreadable upload is the user's problem, not a crash
            logger.warning("image prediction failed: %s", exc)
            result.update(status="error", source="image", message=f"Cannot read the image: {exc}")
            return result
        if not prediction.valid:
            result.update(status="not_found", source="image",
                          message=f"The image model's output is not a valid structure "
                                  f"({prediction.smiles[:80]!r}).")
            return result
        use_prediction(result, prediction, self.store())
        result.update(source="image", reason="read from the image by the image model")
        result["message"] = describe(result)
        return result


def _doubtful(match, prediction, subject: str) -> bool:
    """A typo match for a systematic name that the model reads as another molecule.

    "4-ethylheptan-3-ol" is one edit from "4-methylheptan-3-ol", a different compound: when the
    model, even unsure, disagrees, neither answer is safe to give as the molecule.
    """
    if match.how != "fuzzy" or not is_systematic(subject) or prediction is None:
        return False
    if not prediction.valid or not prediction.canonical_smiles:
        return False
    predicted = connectivity(chem.inchikey_from_smiles(prediction.canonical_smiles))
    return predicted != connectivity(match.compound.inchikey)


def _undecided(result: dict, match, prediction, subject: str, reason: str) -> None:
    """not_found, with the closest database name and the model's guess as alternatives."""
    closest = match.compound
    result["alternatives"] = [
        {"name": closest.name, "smiles": closest.canonical_smiles or closest.smiles,
         "confidence": round(match.score / 100, 3)},
        {"name": None, "smiles": prediction.canonical_smiles,
         "confidence": round(float(prediction.confidence), 4)},
    ]
    result["reason"] = f"no exact database entry; not the model: {reason}"
    result["message"] = (
        f"I am not sure which molecule '{subject[:80]}' is. The closest database name is "
        f"'{closest.name}' (similarity {match.score:.0f}/100), possibly a different molecule; "
        f"the name model reads {prediction.canonical_smiles} but {reason}."
    )


def _predict_image(predictor, image, formula: str | None):
    """The image model's reading, handing it the formula under whichever keyword it takes."""
    if formula:
        accepted = inspect.signature(predictor.predict).parameters
        for keyword in ("formulas", "formula"):
            if keyword in accepted:
                value = [formula] if keyword == "formulas" else formula
                return predictor.predict([image], **{keyword: value})[0]
        logger.info("the image predictor takes no formula; reading the image alone")
    return predictor.predict([image])[0]


def _problem_message(query: Query, result: dict) -> str:
    if query.problem == "too_long":
        result["status"] = "error"
        return (f"Your message is too long; ask about one molecule in at most "
                f"{MAX_MESSAGE_CHARS} characters.")
    if query.problem == "chit_chat":
        return f"Hello! {HELP}"
    return f"I could not find a molecule in your message. {HELP}"


def _not_known(query: Query) -> str:
    what = {"cas": "CAS number", "cid": "PubChem CID", "inchikey": "InChIKey"}.get(query.kind)
    if query.kind == "cas" and not names.is_cas(query.subject):
        return f"{query.subject} is not a valid CAS number (its check digit is wrong)."
    if what:
        return f"No compound with {what} {query.subject} in the database."
    return f"I don't know a molecule called '{query.subject[:80]}'."


_engine: ChatEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> ChatEngine:
    """The process-wide engine over the default paths."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = ChatEngine()
        return _engine


def answer(message: object, mode: str = "auto") -> dict:
    """Answer a chat message with the process-wide engine (see ChatEngine.answer)."""
    return get_engine().answer(message, mode)


def answer_image(image, formula: str | None = None) -> dict:
    """Read a molecule from an image with the process-wide engine."""
    return get_engine().answer_image(image, formula)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ask ChemNet about a molecule.")
    parser.add_argument("message", nargs="+", help="e.g. 'Tell me about Caffeine'")
    parser.add_argument("--mode", choices=MODES, default="auto")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = answer(" ".join(args.message), args.mode)
    print(json.dumps(result, indent=2) if args.json else format_answer(result))
    return 0 if result["status"] != "error" else 1


if __name__ == "__main__":
    sys.exit(main())

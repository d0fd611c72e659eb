"""Chat: message parsing, the three answer modes, the acceptance rule and the calibration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chemnet import calibrate, chem
from chemnet.chat import ANSWER_FIELDS, ChatEngine, accept_model_answer
from chemnet.paths import ROOT
from chemnet.query import parse_message, smiles_shaped
from chemnet.store import Match, get_store

CAFFEINE_KEY = "RYYVLZVUVIJVGH-UHFFFAOYSA-N"


@dataclass
class FakePrediction:
    """The fields of chemnet.predict.Prediction that the chat reads."""

    input: str
    smiles: str
    canonical_smiles: str | None
    valid: bool
    confidence: float
    alternatives: list = field(default_factory=list)


class FakePredictor:
    """Answers every name with one fixed SMILES and confidence, and counts its calls."""

    def __init__(self, smiles: str, confidence: float):
        self.smiles, self.confidence, self.calls = smiles, confidence, []

    def predict(self, inputs, beam=1):
        self.calls.extend(inputs)
        canonical = chem.canonical_smiles(self.smiles)
        return [FakePrediction(text, self.smiles, canonical, canonical is not None,
                               self.confidence, [(self.smiles, self.confidence)])
                for text in inputs]


@pytest.fixture
def engine(built_data, tmp_path) -> ChatEngine:
    """An engine over the tiny store with no name model on disk."""
    return ChatEngine(store_path=built_data / "chemnet.sqlite",
                      name_model=tmp_path / "name2smiles.pth",
                      image_model=tmp_path / "image2smiles.pth")


def with_fake_model(engine: ChatEngine, smiles: str, confidence: float) -> FakePredictor:
    fake = FakePredictor(smiles, confidence)
    engine.predictor = lambda path: (fake, None)
    return fake


# Parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message, kind, subject, asked",
    [
        ("Tell me about Caffeine", "name", "Caffeine", None),
        ("what is the molecular weight of aspirin?", "name", "aspirin", "molecular_weight"),
        ("show me CC(=O)O", "smiles", "CC(=O)O", None),
        ("58-08-2", "cas", "58-08-2", None),
        ("CAFFEINE", "name", "CAFFEINE", None),
        ("caffiene", "name", "caffiene", None),
        ("What's the formula of caffeine?", "name", "caffeine", "formula"),
        ("caffeine's molecular weight", "name", "caffeine", "molecular_weight"),
        ("Can you show me the structure of benzene?", "name", "benzene", "canonical_smiles"),
        ("tell me about water please", "name", "water", None),
        ("Tell me about 2-methylpropan-1-ol", "name", "2-methylpropan-1-ol", None),
        ("what is acetic acid", "name", "acetic acid", None),
        ("PubChem CID: 2519?", "cid", "2519", None),
        ("RYYVLZVUVIJVGH-UHFFFAOYSA-N", "inchikey", CAFFEINE_KEY, None),
        ("InChI=1S/CH4/h1H4", "inchi", "InChI=1S/CH4/h1H4", None),
        ("CC(=O", "smiles", "CC(=O", None),
        ("c1ccccc1", "smiles", "c1ccccc1", None),
    ],
)
def test_parse_message_finds_the_molecule(message, kind, subject, asked):
    query = parse_message(message)
    assert (query.kind, query.subject, query.asked, query.problem) == (kind, subject, asked, None)


@pytest.mark.parametrize("message, problem", [
    ("hello", "chit_chat"), ("Hi!", "chit_chat"), ("thanks", "chit_chat"), ("", "empty"),
    ("   ", "empty"), ("what is the", "empty"), ("x" * 501, "too_long"), (None, "empty"),
])
def test_messages_without_a_molecule_have_a_problem(message, problem):
    query = parse_message(message)
    assert query.problem == problem and query.subject == ""


@pytest.mark.parametrize("text, shaped", [
    ("CCO", True), ("CC(=O", True), ("[Na+].[Cl-]", True), ("Caffeine", False),
    ("ETHANOL", False), ("water", False), ("con", False), ("(E)-but-2-ene", False),
])
def test_smiles_shape_tells_structures_from_words(text, shaped):
    assert smiles_shaped(text) is shaped


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=700))
def test_no_text_crashes_the_parser(text):
    query = parse_message(text)
    assert query.kind in {"smiles", "cas", "inchikey", "inchi", "cid", "name", "none"}
    assert (query.problem is None) == bool(query.subject)
    assert len(query.subject) <= 300


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
       mode=st.sampled_from(["auto", "ai", "fallback", "bogus"]))
def test_no_text_crashes_the_chat(engine, text, mode):
    with_fake_model(engine, "CCO", 0.9)  # so ai and auto reach the model path too
    result = engine.answer(text, mode)
    assert set(ANSWER_FIELDS) <= set(result)
    assert result["status"] in {"ok", "not_found", "error"}
    assert result["message"]


# Fallback mode -----------------------------------------------------------------------------


@pytest.mark.parametrize("message", [
    "Tell me about Caffeine", "caffeine", "CAFFEINE", "58-08-2", "caffiene", "cid 2519",
    CAFFEINE_KEY, "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
])
def test_fallback_finds_caffeine_however_it_is_named(engine, message):
    result = engine.answer(message, "fallback")
    assert result["status"] == "ok", result["message"]
    assert result["formula"] == "C8H10N4O2"
    assert result["inchikey"] == CAFFEINE_KEY
    assert result["molecular_weight"] == pytest.approx(194.19, abs=0.01)
    assert result["cid"] == 2519
    assert "1,3,7-trimethylxanthine" in [s.lower() for s in result["synonyms"]]
    assert result["image_url"].startswith("/api/image?smiles=")


def test_answer_has_descriptors_and_lipinski(engine):
    result = engine.answer("aspirin", "fallback")
    desc = result["descriptors"]
    assert desc["hbd"] == 1 and desc["hba"] == 3 and desc["rings"] == 1
    assert desc["lipinski"]["passes"] is True and desc["lipinski"]["violations"] == 0
    assert result["source"] == "database" and result["confidence"] == 1.0


def test_question_is_answered_in_the_message(engine):
    result = engine.answer("what is the molecular weight of aspirin?", "fallback")
    assert "molecular weight of aspirin is 180.16 g/mol" in result["message"]
    assert "Source: database" in result["message"]


def test_typo_says_it_used_the_closest_name(engine):
    result = engine.answer("aspirn", "fallback")
    assert result["name"] == "aspirin" and "closest database name" in result["reason"]
    assert 0.8 < result["confidence"] < 1.0


def test_water_and_salts_come_from_the_store(engine):
    assert engine.answer("water", "fallback")["formula"] == "H2O"
    assert engine.answer("sodium chloride", "auto")["formula"] == "ClNa"


@pytest.mark.parametrize("message", ["hello", "Hello!", "love", "what is the", ""])
@pytest.mark.parametrize("mode", ["auto", "ai", "fallback"])
def test_no_molecule_means_not_found_never_an_invented_one(engine, message, mode):
    fake = with_fake_model(engine, "CCCCCC", 0.99)
    result = engine.answer(message, mode)
    assert result["status"] == "not_found"
    assert result["canonical_smiles"] is None and result["formula"] is None
    assert fake.calls == []


def test_broken_smiles_is_reported(engine):
    result = engine.answer("show me CC(=O", "auto")
    assert result["status"] == "not_found"
    assert "not a valid SMILES" in result["message"]


def test_wrong_cas_check_digit_is_reported(engine):
    result = engine.answer("58-08-3", "fallback")
    assert result["status"] == "not_found" and "check digit" in result["message"]


@pytest.mark.parametrize("message", [
    "Robert'); DROP TABLE compounds;--", "<script>alert(1)</script>", "%' OR 1=1 --",
    "\x00\x01caffeine\x7f", "ｃａｆｆｅｉｎｅ",
])
def test_hostile_input_gets_an_answer_and_leaves_the_store_intact(engine, message):
    result = engine.answer(message, "fallback")
    assert result["status"] in {"ok", "not_found"}
    assert engine.answer("caffeine", "fallback")["formula"] == "C8H10N4O2"


def test_huge_input_gets_a_clear_message(engine):
    result = engine.answer("caffeine " * 10_000, "auto")
    assert result["status"] == "error" and "too long" in result["message"]


def test_smiles_answer_names_a_known_structure(engine):
    result = engine.answer("show me CC(=O)O", "ai")
    assert result["source"] == "smiles" and result["name"] == "acetic acid"
    assert result["formula"] == "C2H4O2"


# Missing checkpoint ------------------------------------------------------------------------


def test_ai_mode_reports_a_missing_name_model(engine):
    result = engine.answer("Tell me about Caffeine", "ai")
    assert result["status"] == "error"
    assert "Name model not available" in result["message"]


def test_auto_mode_falls_back_when_the_model_is_missing(engine):
    result = engine.answer("Tell me about Caffeine", "auto")
    assert result["status"] == "ok" and result["source"] == "database"
    assert result["formula"] == "C8H10N4O2"
    assert "not available" in result["reason"]


def test_image_question_without_image_model_says_so(engine):
    result = engine.answer_image(ROOT / "nothing.png")
    assert result["status"] == "error" and "Image model not available" in result["message"]


def test_corrupt_checkpoint_is_reported_not_raised(engine):
    engine.name_model.write_bytes(b"not a checkpoint")
    result = engine.answer("caffeine", "ai")
    assert result["status"] == "error" and "cannot load" in result["message"]
    assert engine.answer("caffeine", "auto")["source"] == "database"


# Auto mode's acceptance rule ---------------------------------------------------------------


def caffeine_match(built_data, how="name"):
    return Match(get_store(built_data / "chemnet.sqlite").by_name("caffeine"), how)


def prediction(smiles, confidence, name="caffeine"):
    canonical = chem.canonical_smiles(smiles)
    return FakePrediction(name, smiles, canonical, canonical is not None, confidence)


def test_accept_rule_takes_a_confident_agreeing_answer(built_data):
    ok, reason = accept_model_answer(prediction("Cn1cnc2c1c(=O)n(C)c(=O)n2C", 0.9),
                                     caffeine_match(built_data), 0.5)
    assert ok and "agrees" in reason


@pytest.mark.parametrize("pred, match_how, why", [
    (None, "name", "not available"),
    (("CC(", 0.99), "name", "not a valid structure"),
    (("Cn1cnc2c1c(=O)n(C)c(=O)n2C", 0.3), "name", "below the threshold"),
    (("CCO", 0.99), "name", "disagrees"),
])
def test_accept_rule_rejects_with_a_reason(built_data, pred, match_how, why):
    ok, reason = accept_model_answer(prediction(*pred) if pred else None,
                                     caffeine_match(built_data, match_how), 0.5)
    assert not ok and why in reason


def test_accept_rule_reads_a_systematic_name_with_the_model_despite_a_close_name(built_data):
    close = caffeine_match(built_data, "fuzzy")
    ok, reason = accept_model_answer(prediction("CCO", 0.99, "1,3,7-trimethylpurin-2-one"),
                                     close, 0.5)
    assert ok and "no exact entry for this systematic name" in reason


def test_accept_rule_takes_a_trivial_typo_as_the_close_name(built_data):
    close = caffeine_match(built_data, "fuzzy")
    ok, reason = accept_model_answer(prediction("c1ccccc1", 0.99, "caffiene"), close, 0.5)
    assert not ok and "typo of 'caffeine'" in reason
    ok, _ = accept_model_answer(prediction("Cn1cnc2c1c(=O)n(C)c(=O)n2C", 0.99, "caffiene"),
                                close, 0.5)
    assert ok  # the model read the typo right: same molecule either way


def test_auto_answers_a_typo_from_the_store_even_when_the_model_is_sure(engine):
    with_fake_model(engine, "c1ccccc1", 0.99)
    result = engine.answer("caffiene", "auto")
    assert result["source"] == "database" and result["formula"] == "C8H10N4O2"
    assert "typo of 'caffeine'" in result["reason"]


def test_auto_uses_the_model_when_it_agrees(engine):
    with_fake_model(engine, "Cn1cnc2c1c(=O)n(C)c(=O)n2C", 0.95)
    result = engine.answer("caffeine", "auto")
    assert result["source"] == "model" and result["confidence"] == 0.95
    assert result["name"] == "caffeine" and result["synonyms"]
    assert "Source: name model" in result["message"]


def test_auto_prefers_the_store_when_the_model_disagrees(engine):
    with_fake_model(engine, "CCO", 0.99)
    result = engine.answer("caffeine", "auto")
    assert result["source"] == "database" and result["formula"] == "C8H10N4O2"
    assert "disagrees" in result["reason"]


def test_auto_answers_an_unknown_systematic_name_with_the_model(engine):
    with_fake_model(engine, "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC(C)O", 0.97)
    result = engine.answer("tell me about 2-nonatriacontanol", "auto")
    assert result["source"] == "model" and result["formula"] == "C40H82O"
    assert result["synonyms"] == []  # an unknown structure has no synonyms to show


def test_auto_refuses_an_unconfident_guess_for_an_unknown_name(engine):
    with_fake_model(engine, "CCCCO", 0.2)
    result = engine.answer("2-methylheptadecan-3-olide", "auto")
    assert result["status"] == "not_found" and "below the threshold" in result["message"]


def test_ai_mode_computes_properties_from_the_predicted_structure(engine):
    with_fake_model(engine, "CCO", 0.4)
    result = engine.answer("caffeine", "ai")
    assert result["source"] == "model" and result["formula"] == "C2H6O"
    assert result["molecular_weight"] == pytest.approx(46.07, abs=0.01)
    assert "differs from the database entry (caffeine)" in result["reason"]


def test_calibration_file_sets_the_threshold(engine):
    with_fake_model(engine, "Cn1cnc2c1c(=O)n(C)c(=O)n2C", 0.6)
    calibrate.calibration_path(engine.name_model).write_text(json.dumps({"threshold": 0.8}))
    assert engine.threshold() == (0.8, True)
    assert engine.answer("caffeine", "auto")["source"] == "database"
    calibrate.calibration_path(engine.name_model).write_text(json.dumps({"threshold": 0.5}))
    assert engine.answer("caffeine", "auto")["source"] == "model"


# Calibration -------------------------------------------------------------------------------


def test_choose_threshold_by_hand():
    # Sorted: 0.9 T, 0.8 T, 0.7 F, 0.6 T, 0.5 F -> precision 1, 1, 2/3, 3/4, 3/5.
    confidences = [0.5, 0.9, 0.7, 0.6, 0.8]
    correct = [False, True, False, True, True]
    result = calibrate.choose_threshold(confidences, correct, target=0.75)
    assert result["threshold"] == 0.6 and result["precision"] == 0.75
    assert result["coverage"] == 0.8 and result["reached"]
    assert calibrate.choose_threshold(confidences, correct, target=1.0)["threshold"] == 0.8


def test_choose_threshold_when_the_target_is_out_of_reach():
    result = calibrate.choose_threshold([0.9, 0.8], [False, False], target=0.5)
    assert result["threshold"] == 1.0 and not result["reached"]


def test_choose_threshold_keeps_ties_together():
    result = calibrate.choose_threshold([0.9, 0.9, 0.5], [True, False, True], target=0.9)
    assert result["threshold"] == 1.0 and not result["reached"]


# With a real (tiny) trained checkpoint -----------------------------------------------------


@pytest.fixture
def trained_engine(built_data, request) -> ChatEngine:
    pytest.importorskip("chemnet.predict")
    model = request.getfixturevalue("tiny_name_model")  # trained only when predict exists
    return ChatEngine(store_path=built_data / "chemnet.sqlite", name_model=model)


def test_ai_mode_with_a_trained_checkpoint(trained_engine):
    result = trained_engine.answer("Tell me about caffeine", "ai")
    assert result["source"] == "model"
    if result["status"] == "ok":  # a one-epoch model may or may not write a valid SMILES
        mol = chem.parse_smiles(result["canonical_smiles"])
        assert result["formula"] == chem.formula(mol)
        assert 0.0 <= result["confidence"] <= 1.0
    else:
        assert "not a valid structure" in result["message"]


def test_auto_mode_with_a_trained_checkpoint_still_answers_caffeine(trained_engine):
    result = trained_engine.answer("Tell me about caffeine", "auto")
    assert result["formula"] == "C8H10N4O2" and result["reason"]


def test_calibrate_writes_a_threshold_the_chat_reads(built_data, request):
    pytest.importorskip("chemnet.predict")
    tiny_name_model = request.getfixturevalue("tiny_name_model")
    result = calibrate.calibrate(tiny_name_model, data_dir=built_data, limit=24, target=0.95)
    assert 0.0 <= result["threshold"] <= 1.0 and result["n"] == 24
    assert calibrate.load_threshold(tiny_name_model) == result["threshold"]


# Entry points ------------------------------------------------------------------------------


def test_module_answer_keeps_one_engine(monkeypatch, engine):
    from chemnet import chat

    monkeypatch.setattr(chat, "_engine", engine)
    first = chat.answer("caffeine", "fallback")
    assert chat.get_engine() is engine and first["name"] == "caffeine"


def test_cli_prints_json(built_data, tmp_path):
    env = {**os.environ, "CHEMNET_DATA_DIR": str(built_data), "CHEMNET_MODELS_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "chemnet.chat", "Tell me about Caffeine", "--mode", "fallback",
         "--json"], capture_output=True, text=True, env=env, timeout=120, check=True,
    )
    result = json.loads(out.stdout)
    assert result["formula"] == "C8H10N4O2" and result["mode"] == "fallback"


def test_image_answer_from_the_image_model(engine):
    fake = FakePredictor("Cn1cnc2c1c(=O)n(C)c(=O)n2C", 0.8)
    engine.predictor = lambda path: (fake, None)
    result = engine.answer_image("drawing.png")
    assert result["status"] == "ok" and result["source"] == "image"
    assert result["formula"] == "C8H10N4O2" and result["name"] == "caffeine"
    assert fake.calls == ["drawing.png"]


def test_a_name_written_like_a_smiles_is_still_found(engine):
    result = engine.answer("tell me about co2", "fallback")
    assert result["status"] == "ok" and result["formula"] == "CO2"


def test_trailing_request_words_are_dropped(engine):
    assert engine.answer("caffeine info", "fallback")["name"] == "caffeine"
    assert "The SMILES of caffeine is" in engine.answer("SMILES of caffeine", "fallback")["message"]


def test_calibration_of_a_replaced_checkpoint_is_ignored(tmp_path):
    model = tmp_path / "name2smiles.pth"
    model.write_bytes(b"version one")
    calibrate.calibration_path(model).write_text(json.dumps(
        {"threshold": 0.4, "checkpoint_sha256": calibrate.file_sha256(model)}))
    assert calibrate.load_threshold(model) == 0.4
    model.write_bytes(b"version two, retrained")
    assert calibrate.load_threshold(model) is None


def test_image_answer_hands_over_the_formula(engine):
    seen = {}

    class FormulaPredictor(FakePredictor):
        def predict(self, inputs, beam=1, formulas=None):
            seen["formulas"] = formulas
            return super().predict(inputs, beam)

    fake = FormulaPredictor("CCO", 0.9)
    engine.predictor = lambda path: (fake, None)
    assert engine.answer_image("x.png", formula="C2H6O")["formula"] == "C2H6O"
    assert seen["formulas"] == ["C2H6O"]
    plain = FakePredictor("CCO", 0.9)  # takes no formula: the image alone is read
    engine.predictor = lambda path: (plain, None)
    assert engine.answer_image("x.png", formula="C2H6O")["status"] == "ok"


def test_image_answer_of_an_unknown_structure_has_no_name(engine):
    engine.predictor = lambda path: (FakePredictor("CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCO", 0.7), None)
    result = engine.answer_image(object())  # an image object must never become the name
    assert result["status"] == "ok" and result["name"] is None
    assert result["message"].startswith("CCCCCCCC")


def test_auto_gives_no_molecule_when_a_systematic_name_only_has_a_doubtful_typo_match(engine):
    # "1,3,7-trimethylxanthinee" is one edit from caffeine's synonym; the unsure model disagrees.
    with_fake_model(engine, "CCO", 0.3)
    result = engine.answer("1,3,7-trimethylxanthinee", "auto")
    assert result["status"] == "not_found" and result["formula"] is None
    assert "closest database name" in result["message"]
    assert [a["smiles"] for a in result["alternatives"]][1] == "CCO"
    with_fake_model(engine, "Cn1cnc2c1c(=O)n(C)c(=O)n2C", 0.3)  # unsure but agreeing: answer
    assert engine.answer("1,3,7-trimethylxanthinee", "auto")["formula"] == "C8H10N4O2"

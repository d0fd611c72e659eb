"""The data build: counts, splits, outputs, idempotence and interrupted builds."""

import pandas as pd
import pytest

from chemnet import dataset
from chemnet.names import is_cas, is_learnable_name, lookup_key, model_names


def test_build_writes_all_outputs_and_a_manifest(built_data):
    for name in dataset.OUTPUTS + (dataset.MANIFEST,):
        assert (built_data / name).exists()
    assert dataset.is_built(built_data)


def test_splits_are_disjoint_by_molecule(built_data):
    molecules = dataset.load_molecules(built_data)
    names = dataset.load_names(built_data)
    assert molecules["inchikey"].is_unique
    assert set(molecules["split"]) == {"train", "val", "test"}
    per_molecule = names.groupby("inchikey")["split"].nunique()
    assert (per_molecule == 1).all()
    split_of = dict(zip(molecules["inchikey"], molecules["split"]))
    assert (names["inchikey"].map(split_of) == names["split"]).all()


def test_split_fractions_are_70_15_15(built_data):
    counts = dataset.load_molecules(built_data)["split"].value_counts(normalize=True)
    assert counts["train"] == pytest.approx(0.70, abs=0.01)
    assert counts["val"] == pytest.approx(0.15, abs=0.01)
    assert counts["test"] == pytest.approx(0.15, abs=0.01)


def test_molecules_are_single_fragment_organics_without_stereo(built_data):
    molecules = dataset.load_molecules(built_data)
    assert not molecules["smiles"].str.contains(r"\.|@|/|\\", regex=True).any()
    assert molecules["heavy_atoms"].between(dataset.MIN_HEAVY_ATOMS, dataset.MAX_HEAVY_ATOMS).all()
    caffeine = molecules[molecules["name"] == "caffeine"].iloc[0]
    assert caffeine["formula"] == "C8H10N4O2"
    assert caffeine["mw"] == pytest.approx(194.19, abs=0.01)


def test_names_carry_kinds_and_no_registry_numbers(built_data):
    names = dataset.load_names(built_data)
    assert set(names["kind"]) <= {"iupac", "common", "synonym"}
    assert not names["name"].map(is_cas).any()
    assert names.groupby("inchikey").size().max() <= 4
    assert not names["name"].duplicated().any()


def test_second_build_does_nothing_unless_forced(built_data):
    stamp = (built_data / dataset.MANIFEST).stat().st_mtime_ns
    dataset.build(data_dir=built_data, limit=300)
    assert (built_data / dataset.MANIFEST).stat().st_mtime_ns == stamp


def test_interrupted_build_does_not_look_complete(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dataset.store_writer, "write_store", crash)
    with pytest.raises(KeyboardInterrupt):
        dataset.build(data_dir=tmp_path, limit=50)
    assert not dataset.is_built(tmp_path)
    assert not (tmp_path / dataset.MANIFEST).exists()


def test_lookup_key_ignores_case_spacing_punctuation_and_greek():
    assert lookup_key("Alpha-Tocopherol") == lookup_key("α-tocopherol")
    assert lookup_key(".alpha.-tocopherol") == lookup_key("alpha tocopherol")
    assert lookup_key("  Caffeine ") == "caffeine"


def test_cas_numbers_need_a_valid_check_digit():
    assert is_cas("58-08-2")
    assert not is_cas("58-08-3")
    assert not is_cas("caffeine")


def test_model_names_drop_codes_and_keep_iupac_first():
    names = model_names(
        "1,3,7-trimethylpurine-2,6-dione",
        "caffeine",
        ["58-08-2", "stk366316", "NSC 5036", "guaranine", "theine", "koffein"],
    )
    assert names == [
        ("1,3,7-trimethylpurine-2,6-dione", "iupac"),
        ("caffeine", "common"),
        ("guaranine", "synonym"),
        ("theine", "synonym"),
    ]
    assert not is_learnable_name("rypvlzvuvijvgh-uhfffaoysa-n")


def test_molecules_parquet_has_the_agreed_columns(built_data):
    columns = set(pd.read_parquet(built_data / "molecules.parquet").columns)
    expected = {"cid", "name", "iupac_name", "smiles", "inchikey", "formula", "mw", "split"}
    assert expected | {"logp", "tpsa", "hbd", "hba", "rotatable_bonds", "rings"} <= columns


def test_rare_tokens_are_counted_on_training_molecules_only():
    molecules = pd.DataFrame({
        "smiles": ["CCO"] * 8 + ["CC[NH3+]", "CCBr", "CC[NH3+]"],
        "split": ["train"] * 8 + ["train", "val", "test"],
    })
    # [NH3+] is in 1 of 9 training molecules; Br in none of them.
    assert dataset.rare_tokens(molecules, min_fraction=0.2) == {"[NH3+]", "Br"}
    assert dataset.rare_tokens(molecules, min_fraction=0.1) == {"Br"}


def test_dropping_rare_tokens_keeps_the_other_molecules_and_their_splits():
    molecules = pd.DataFrame({
        "smiles": ["CCO", "c1ccccc1", "CCBr", "CCN", "Oc1ccccc1"],
        "split": ["train", "train", "test", "val", "test"],
    })
    kept = dataset.drop_rare_tokens(molecules)  # Br and N: in no training molecule
    assert kept["smiles"].tolist() == ["CCO", "c1ccccc1", "Oc1ccccc1"]
    assert kept["split"].tolist() == ["train", "train", "test"]


def test_built_molecules_use_only_tokens_seen_in_training(built_data):
    from chemnet.tokenizer import smiles_tokens

    molecules = dataset.load_molecules(built_data)
    seen = set().union(*(smiles_tokens(s) for s in molecules.query("split == 'train'").smiles))
    for smiles in molecules.query("split != 'train'").smiles:
        assert set(smiles_tokens(smiles)) <= seen, smiles

"""Tokenizers and vocabularies: SMILES round trip, name characters, dict round trip."""

import pandas as pd
import pytest

from chemnet.tokenizer import BOS_ID, EOS_ID, UNK_ID, Vocab, name_tokens, smiles_tokens

EXAMPLES = [
    "CCO",
    "Cn1c(=O)c2c(ncn2C)n(C)c1=O",
    "CC(=O)Oc1ccccc1C(=O)O",
    "ClC(Cl)(Cl)Br",
    "C[N+](C)(C)CC(=O)[O-]",
    "C1CC2CCC1%10CC2%10",
    "[2H]C([2H])([2H])O",
    "F/C=C/F",
    "[Na+].[Cl-]",
    "C#N",
]


@pytest.mark.parametrize("smiles", EXAMPLES)
def test_smiles_round_trip(smiles):
    assert "".join(smiles_tokens(smiles)) == smiles


def test_smiles_atom_level_tokens():
    assert smiles_tokens("ClCBr") == ["Cl", "C", "Br"]
    assert smiles_tokens("C[N+](C)=O") == ["C", "[N+]", "(", "C", ")", "=", "O"]
    assert smiles_tokens("C%12CC%12") == ["C", "%12", "C", "C", "%12"]
    assert smiles_tokens("c1ccccc1") == ["c", "1", "c", "c", "c", "c", "c", "1"]


def test_every_dataset_smiles_round_trips(built_data):
    smiles = pd.read_parquet(built_data / "molecules.parquet", columns=["smiles"])["smiles"]
    assert len(smiles) > 0
    bad = [s for s in smiles if "".join(smiles_tokens(s)) != s]
    assert bad == []


def test_name_tokens_lowercase_and_spacing():
    assert name_tokens("Acetic  Acid") == list("acetic acid")


def test_vocab_encode_decode_and_dict_round_trip():
    vocab = Vocab.build(EXAMPLES, "smiles")
    ids = vocab.encode("CCO", bos=True, eos=True)
    assert ids[0] == BOS_ID and ids[-1] == EOS_ID
    assert vocab.decode(ids) == "CCO"
    assert vocab.encode("[Xe]") == [UNK_ID]
    again = Vocab.from_dict(vocab.to_dict())
    assert again.itos == vocab.itos and again.kind == "smiles"
    assert vocab.decode(vocab.encode("CC") + [EOS_ID] + vocab.encode("O")) == "CC"


def test_vocab_rejects_bad_dict():
    with pytest.raises(ValueError):
        Vocab.from_dict({"kind": "smiles", "tokens": ["C", "O"]})

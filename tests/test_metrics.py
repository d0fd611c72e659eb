"""Metric functions against values computed by hand, including an invalid SMILES."""

import numpy as np
import pytest

from chemnet import metrics

# Targets 1 1 2 3, predictions 1 2 2 3 (token ids; 0 is padding where used).
Y_TRUE = [1, 1, 2, 3]
Y_PRED = [1, 2, 2, 3]
VOCAB = {0: "<pad>", 1: "C", 2: "O", 3: "N"}


def test_flatten_pairs_drops_padding_positions():
    pairs = [([1, 2, 0], [1, 1, 0]), ([2, 3, 1], [2, 3, 0])]
    y_true, y_pred = metrics.flatten_pairs(pairs, pad_id=0)
    assert y_true.tolist() == Y_TRUE
    assert y_pred.tolist() == Y_PRED


def test_flatten_pairs_rejects_misaligned_samples():
    with pytest.raises(ValueError, match="length mismatch"):
        metrics.flatten_pairs([([1, 2], [1])])


def test_token_accuracy_and_f1_by_hand():
    assert metrics.token_accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.75)
    # per class F1: C 2/3 (P 1, R 1/2), O 2/3 (P 1/2, R 1), N 1
    scores = metrics.f1_scores(Y_TRUE, Y_PRED)
    assert scores["macro_f1"] == pytest.approx(7 / 9)
    assert scores["weighted_f1"] == pytest.approx((2 * 2 / 3 + 2 / 3 + 1) / 4)


def test_empty_inputs_score_zero():
    assert metrics.token_accuracy([], []) == 0.0
    assert metrics.f1_scores([], []) == {"macro_f1": 0.0, "weighted_f1": 0.0}
    assert metrics.per_token_table([], []).empty
    assert metrics.validity([]) == 0.0


def test_per_token_table_by_hand():
    table = metrics.per_token_table(Y_TRUE, Y_PRED, VOCAB).set_index("token")
    assert list(table.index) == ["C", "N", "O"]  # support 2, then ties by token text
    assert table.loc["C", "precision"] == pytest.approx(1.0)
    assert table.loc["C", "recall"] == pytest.approx(0.5)
    assert table.loc["O", "precision"] == pytest.approx(0.5)
    assert table.loc["O", "f1"] == pytest.approx(2 / 3)
    assert table["support"].tolist() == [2, 1, 1]


def test_confusion_matrix_rows_true_columns_predicted():
    matrix, labels = metrics.token_confusion(Y_TRUE, Y_PRED, VOCAB)
    assert labels == ["C", "N", "O"]
    assert matrix.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]


def test_top_confusion_row_normalises_by_full_row():
    matrix, labels = metrics.token_confusion(Y_TRUE, Y_PRED, VOCAB)
    sub, top = metrics.top_confusion(matrix, labels, n=2, normalise=True)
    assert top == ["C", "N"]
    # C's second prediction went to O, outside the top two, so the row sums to 0.5
    assert np.allclose(sub, [[0.5, 0.0], [0.0, 1.0]])
    raw, _ = metrics.top_confusion(matrix, labels, n=10)
    assert raw.shape == (3, 3)


def test_free_running_penalises_length_differences():
    predicted = [["C", "C", "O"], ["C"]]
    targets = [["C", "C", "N"], ["C", "C"]]
    assert metrics.free_running_accuracy(predicted, targets) == pytest.approx(3 / 5)
    assert metrics.free_running_accuracy([], []) == 0.0


def test_exact_match_by_inchikey_and_invalid_smiles():
    predicted = ["OCC", "C1CC", None, "CCN", "CCO", "C1CC"]
    targets = ["CCO", "C1CC1", "CCO", "CCO", "CCO", "C1CC"]  # the last target is invalid
    assert metrics.exact_matches(predicted, targets) == [True, False, False, False, True, False]
    assert metrics.validity(predicted) == pytest.approx(3 / 6)


def test_tanimoto_is_one_for_same_molecule_zero_for_invalid():
    scores = metrics.tanimoto_scores(["OCC", "C1CC", "CCC"], ["CCO", "CCO", "CCO"])
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] == 0.0
    assert 0.0 < scores[2] < 1.0


def test_histogram_counts_values_in_bins():
    hist = metrics.histogram([0.0, 0.05, 0.5, 1.0], bins=4)
    assert hist["edges"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert hist["counts"] == [2, 0, 1, 1]


def test_rate_by_group_and_by_length():
    table = metrics.rate_by_group(["iupac", "iupac", "common"], [True, False, True])
    assert table.to_dict("records") == [
        {"group": "iupac", "n": 2, "accuracy": 0.5},
        {"group": "common", "n": 1, "accuracy": 1.0},
    ]
    by_length = metrics.rate_by_length([5, 12, 15], [True, False, True])
    assert by_length.to_dict("records") == [
        {"length": "0-9", "n": 1, "accuracy": 1.0},
        {"length": "10-19", "n": 2, "accuracy": 0.5},
    ]

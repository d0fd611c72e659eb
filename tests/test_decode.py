"""Greedy and beam decoding against a hand-made model whose probabilities we know."""

import math

import pytest
import torch

from chemnet.decode import beam_search, greedy_decode
from chemnet.tokenizer import BOS_ID, EOS_ID

A, B, V = 4, 5, 6
# (step, previous token) -> next-token probabilities; anything unlisted ends the sequence.
TABLE = {
    (0, BOS_ID): {A: 0.5, B: 0.4, EOS_ID: 0.1},
    (1, A): {A: 0.4, B: 0.3, EOS_ID: 0.3},
    (1, B): {EOS_ID: 0.9, A: 0.05, B: 0.05},
}


class TableModel(torch.nn.Module):
    """A 'model' that ignores its input and follows TABLE."""

    def encode(self, src, src_len):
        return {"t": torch.zeros(src.size(0), dtype=torch.long)}

    def step(self, tokens, state):
        rows = []
        for prev, t in zip(tokens.tolist(), state["t"].tolist()):
            probs = torch.full((V,), 1e-9)
            for tok, p in TABLE.get((t, prev), {EOS_ID: 1.0}).items():
                probs[tok] = p
            rows.append(probs.log())
        return torch.stack(rows), {"t": state["t"] + 1}


def inputs(n=2):
    return torch.ones(n, 3, dtype=torch.long), torch.full((n,), 3)


def test_greedy_follows_the_most_likely_token():
    out = greedy_decode(TableModel(), *inputs())
    assert [d.tokens for d in out] == [[A, A], [A, A]]
    # log(0.5) + log(0.4) + log(1.0) over three tokens, <eos> included
    assert out[0].log_prob == pytest.approx(math.log(0.2), abs=1e-5)
    assert out[0].confidence == pytest.approx(0.2 ** (1 / 3), abs=1e-4)


def test_beam_finds_the_better_sequence_greedy_misses():
    out = beam_search(TableModel(), *inputs(), beam=3)
    best = out[0][0]
    assert best.tokens == [B]
    assert best.confidence == pytest.approx(math.sqrt(0.4 * 0.9), abs=1e-4)
    assert [A, A] in [d.tokens for d in out[0]]
    assert [d.confidence for d in out[0]] == sorted((d.confidence for d in out[0]), reverse=True)


def test_beam_one_is_greedy():
    greedy = greedy_decode(TableModel(), *inputs(1))[0]
    beam = beam_search(TableModel(), *inputs(1), beam=1)[0][0]
    assert beam.tokens == greedy.tokens and beam.confidence == pytest.approx(greedy.confidence)


def test_max_len_bounds_the_output():
    class Endless(TableModel):
        def step(self, tokens, state):
            logits = torch.zeros(tokens.size(0), V)
            logits[:, A] = 5.0
            return logits, state

    out = greedy_decode(Endless(), *inputs(1), max_len=4)
    assert out[0].tokens == [A] * 4
    assert len(beam_search(Endless(), *inputs(1), beam=2, max_len=4)[0][0].tokens) == 4

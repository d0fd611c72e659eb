"""Batched greedy and beam-search decoding for any model with ``encode`` and ``step``.

Confidence of a sequence is the geometric mean of its token probabilities, i.e. the exp of
the mean log-probability over the generated tokens including ``<eos>``. It lies in 0..1, does
not shrink merely because a molecule is large, and is what beams are finally ranked by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from chemnet.tokenizer import BOS_ID, EOS_ID


@dataclass
class Decoded:
    """One decoded sequence: token ids without <bos>/<eos>, its confidence and log-prob."""

    tokens: list[int]
    confidence: float
    log_prob: float


def _select(state: dict, index: torch.Tensor) -> dict:
    return {key: value.index_select(0, index) for key, value in state.items()}


@torch.no_grad()
def greedy_decode(model: nn.Module, src: torch.Tensor, src_len: torch.Tensor,
                  max_len: int = 120) -> list[Decoded]:
    """Pick the most likely token at every step, for a whole batch at once."""
    batch = src.size(0)
    state = model.encode(src, src_len)
    tokens = torch.full((batch,), BOS_ID, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    total = torch.zeros(batch, device=src.device)
    length = torch.zeros(batch, device=src.device)
    steps = []
    for _ in range(max_len):
        logits, state = model.step(tokens, state)
        logp = torch.log_softmax(logits.float(), dim=-1)  # (B, V)
        best, tokens = logp.max(dim=-1)
        live = ~done
        total += torch.where(live, best, torch.zeros_like(best))
        length += live.float()
        steps.append(torch.where(live, tokens, torch.full_like(tokens, EOS_ID)))
        done |= tokens == EOS_ID
        if bool(done.all()):
            break
    seqs = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in range(batch)]
    return [
        _finish(seq, float(total[i]), float(length[i])) for i, seq in enumerate(seqs)
    ]


def _finish(seq: list[int], log_prob: float, length: float) -> Decoded:
    ids = seq[: seq.index(EOS_ID)] if EOS_ID in seq else list(seq)
    mean = log_prob / max(length, 1.0)
    return Decoded(tokens=ids, confidence=math.exp(mean), log_prob=log_prob)


@torch.no_grad()
def beam_search(model: nn.Module, src: torch.Tensor, src_len: torch.Tensor, beam: int = 5,
                max_len: int = 120) -> list[list[Decoded]]:
    """Keep the ``beam`` best partial sequences per input; return them best first.

    Beams are grown by total log-probability and finally ranked by confidence (mean
    log-probability), so a longer correct SMILES is not beaten by a short wrong one.
    """
    if beam <= 1:
        return [[d] for d in greedy_decode(model, src, src_len, max_len)]
    batch, device = src.size(0), src.device
    state = _select(model.encode(src, src_len),
                    torch.arange(batch, device=device).repeat_interleave(beam))
    scores = torch.full((batch, beam), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical; only the first may expand at step one
    scores = scores.view(-1)
    tokens = torch.full((batch * beam,), BOS_ID, dtype=torch.long, device=device)
    history = torch.zeros(batch * beam, 0, dtype=torch.long, device=device)
    length = torch.zeros(batch * beam, device=device)
    done = torch.zeros(batch * beam, dtype=torch.bool, device=device)
    for _ in range(max_len):
        logits, state = model.step(tokens, state)
        logp = torch.log_softmax(logits.float(), dim=-1)  # (B*K, V)
        vocab = logp.size(-1)
        # A finished beam may only emit <eos> again, at no cost, so it keeps its score.
        logp[done] = float("-inf")
        logp[done, EOS_ID] = 0.0
        cand = (scores.unsqueeze(1) + logp).view(batch, beam * vocab)
        top, flat = cand.topk(beam, dim=-1)  # (B, K)
        origin = (flat // vocab + torch.arange(batch, device=device).unsqueeze(1) * beam).view(-1)
        tokens = (flat % vocab).view(-1)
        state, history = _select(state, origin), history.index_select(0, origin)
        was_done = done.index_select(0, origin)
        length = length.index_select(0, origin) + (~was_done).float()
        done = was_done | (tokens == EOS_ID)
        history = torch.cat([history, tokens.unsqueeze(1)], dim=1)
        scores = top.view(-1)
        if bool(done.all()):
            break
    return _rank_beams(history.tolist(), scores.tolist(), length.tolist(), batch, beam)


def _rank_beams(history, scores, length, batch: int, beam: int) -> list[list[Decoded]]:
    out = []
    for b in range(batch):
        found = [
            _finish(history[k], scores[k], length[k])
            for k in range(b * beam, (b + 1) * beam)
            if scores[k] > float("-inf")
        ]
        out.append(sorted(found, key=lambda d: -d.confidence))
    return out

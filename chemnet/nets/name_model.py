"""Name -> SMILES sequence-to-sequence models: reference LSTM, LSTM with attention, Transformer.

Every model offers the same three calls, which is all the trainer and the decoder rely on:
``forward(src, src_len, tgt_in) -> logits (B, T, V)`` for teacher forcing, ``encode(src,
src_len) -> state`` and ``step(tokens, state) -> (logits (B, V), state)`` for decoding. A
decoding state is a dict of tensors whose first dimension is the batch, so beam search can
reorder or repeat it with ``index_select`` without knowing the model.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from chemnet.tokenizer import PAD_ID


def _lstm_state_to_batch_first(h: torch.Tensor) -> torch.Tensor:
    return h.transpose(0, 1).contiguous()  # (L, B, H) -> (B, L, H)


def _batch_first_to_lstm_state(h: torch.Tensor) -> torch.Tensor:
    return h.transpose(0, 1).contiguous()  # (B, L, H) -> (L, B, H)


class ReferenceSeq2Seq(nn.Module):
    """The reference design: Embedding(128) -> LSTM(256) encoder, LSTM(256) decoder, Linear."""

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        embed: int = 128,
        hidden: int = 256,
        layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        drop = dropout if layers > 1 else 0.0
        self.src_embed = nn.Embedding(src_vocab, embed, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, padding_idx=PAD_ID)
        self.encoder = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=drop)
        self.decoder = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=drop)
        self.out = nn.Linear(hidden, tgt_vocab)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> dict:
        packed = pack_padded_sequence(
            self.src_embed(src), src_len.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h, c) = self.encoder(packed)
        return {"h": _lstm_state_to_batch_first(h), "c": _lstm_state_to_batch_first(c)}

    def _decode(self, tgt: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        hc = (_batch_first_to_lstm_state(state["h"]), _batch_first_to_lstm_state(state["c"]))
        out, (h, c) = self.decoder(self.tgt_embed(tgt), hc)  # (B, T, H)
        new = dict(state, h=_lstm_state_to_batch_first(h), c=_lstm_state_to_batch_first(c))
        return self.out(out), new

    def forward(self, src, src_len, tgt_in):
        return self._decode(tgt_in, self.encode(src, src_len))[0]

    def step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        logits, state = self._decode(tokens.unsqueeze(1), state)
        return logits[:, 0], state


class AttentionSeq2Seq(nn.Module):
    """Bidirectional LSTM encoder and an LSTM decoder with Luong attention after the LSTM.

    Attention reads the decoder output rather than feeding back into the LSTM input, so
    teacher-forced training is a single LSTM call over the whole target sequence.
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        embed: int = 128,
        hidden: int = 256,
        layers: int = 1,
        dropout: float = 0.1,
    ):
        super().__init__()
        drop = dropout if layers > 1 else 0.0
        self.src_embed = nn.Embedding(src_vocab, embed, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, padding_idx=PAD_ID)
        self.encoder = nn.LSTM(
            embed, hidden // 2, layers, batch_first=True, dropout=drop, bidirectional=True
        )
        self.decoder = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=drop)
        self.attn_in = nn.Linear(hidden, hidden, bias=False)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, tgt_vocab)
        self.layers = layers

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> dict:
        packed = pack_padded_sequence(
            self.src_embed(src), src_len.cpu(), batch_first=True, enforce_sorted=False
        )
        out, (h, c) = self.encoder(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        # Join the two directions of each layer into the decoder's hidden size.
        h = (
            h.view(self.layers, 2, h.size(1), -1)
            .transpose(1, 2)
            .reshape(self.layers, h.size(1), -1)
        )
        c = (
            c.view(self.layers, 2, c.size(1), -1)
            .transpose(1, 2)
            .reshape(self.layers, c.size(1), -1)
        )
        return {
            "h": _lstm_state_to_batch_first(h),
            "c": _lstm_state_to_batch_first(c),
            "keys": self.attn_in(memory),  # (B, S, H), projected once for all steps
            "memory": memory,  # (B, S, H)
            "mask": src != PAD_ID,  # (B, S)
        }

    def _decode(self, tgt: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        hc = (_batch_first_to_lstm_state(state["h"]), _batch_first_to_lstm_state(state["c"]))
        out, (h, c) = self.decoder(self.tgt_embed(tgt), hc)  # (B, T, H)
        scores = torch.bmm(out, state["keys"].transpose(1, 2))  # (B, T, S)
        scores = scores.masked_fill(~state["mask"].unsqueeze(1), float("-inf"))
        context = torch.bmm(torch.softmax(scores, dim=-1), state["memory"])  # (B, T, H)
        mixed = torch.tanh(self.combine(torch.cat([out, context], dim=-1)))
        new = dict(state, h=_lstm_state_to_batch_first(h), c=_lstm_state_to_batch_first(c))
        return self.out(self.dropout(mixed)), new

    def forward(self, src, src_len, tgt_in):
        return self._decode(tgt_in, self.encode(src, src_len))[0]

    def step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        logits, state = self._decode(tokens.unsqueeze(1), state)
        return logits[:, 0], state


class TransformerSeq2Seq(nn.Module):
    """A small pre-norm Transformer encoder-decoder with sinusoidal positions."""

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        d_model: int = 256,
        heads: int = 4,
        layers: int = 3,
        ff: int = 1024,
        dropout: float = 0.1,
        max_len: int = 512,
    ):
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=PAD_ID)
        self.register_buffer("positions", _sinusoids(max_len, d_model), persistent=False)
        with warnings.catch_warnings():  # nested tensors do not apply to pre-norm; say nothing
            warnings.simplefilter("ignore", UserWarning)
            self.core = nn.Transformer(
                d_model, heads, layers, layers, ff, dropout, batch_first=True, norm_first=True
            )
        self.out = nn.Linear(d_model, tgt_vocab)

    def _embed(self, table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        return table(ids) * math.sqrt(self.d_model) + self.positions[: ids.size(1)]

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> dict:
        pad = src == PAD_ID
        memory = self.core.encoder(self._embed(self.src_embed, src), src_key_padding_mask=pad)
        empty = torch.zeros(src.size(0), 0, dtype=torch.long, device=src.device)
        return {"memory": memory, "pad": pad, "prefix": empty}

    def _decode(self, tgt: torch.Tensor, memory: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(tgt.size(1), device=tgt.device)
        out = self.core.decoder(
            self._embed(self.tgt_embed, tgt),
            memory,
            tgt_mask=causal,
            tgt_is_causal=True,
            memory_key_padding_mask=pad,
        )
        return self.out(out)

    def forward(self, src, src_len, tgt_in):
        state = self.encode(src, src_len)
        return self._decode(tgt_in, state["memory"], state["pad"])

    def step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        # Recomputing the short prefix each step is cheap next to keeping per-layer caches.
        prefix = torch.cat([state["prefix"], tokens.unsqueeze(1)], dim=1)
        logits = self._decode(prefix, state["memory"], state["pad"])[:, -1]
        return logits, dict(state, prefix=prefix)


def _sinusoids(length: int, dim: int) -> torch.Tensor:
    position = torch.arange(length).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq)
    return table


VARIANTS = {
    "reference": (ReferenceSeq2Seq, {"embed": 128, "hidden": 256, "layers": 1, "dropout": 0.0}),
    "attention": (AttentionSeq2Seq, {"embed": 128, "hidden": 256, "layers": 1, "dropout": 0.1}),
    "transformer": (
        TransformerSeq2Seq,
        {"d_model": 256, "heads": 4, "layers": 3, "ff": 1024, "dropout": 0.1},
    ),
}


def model_settings(variant: str, overrides: dict | None = None) -> dict:
    """The full size settings of a variant: its defaults updated with ``overrides``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown name-model variant {variant!r}; choose from {list(VARIANTS)}")
    settings = dict(VARIANTS[variant][1])
    settings.update({k: v for k, v in (overrides or {}).items() if k in settings})
    return settings


def build_name_model(variant: str, src_vocab: int, tgt_vocab: int, **sizes) -> nn.Module:
    """Build a name model variant; ``sizes`` override its default layer sizes."""
    cls = VARIANTS[variant][0]
    return cls(src_vocab, tgt_vocab, **model_settings(variant, sizes))

"""Image -> SMILES: a small CNN encoder, an optional formula branch and an attention LSTM decoder.

The model offers the calls the trainer and the decoder rely on (as the name models do):
``forward(images, desc, tgt_in) -> logits (B, T, V)`` for teacher forcing, ``encode(images,
desc) -> state`` and ``step(tokens, state) -> (logits (B, V), state)`` for decoding, where a
state is a dict of batch-first tensors. ``desc`` is the descriptor vector of
``formula_features`` (atom counts and MW, with a last "present" flag); a zero vector means
"no descriptors", and training masks it at random so the model works either way.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from chemnet.tokenizer import PAD_ID

# Elements whose counts the descriptor branch sees; anything else is summed in "other".
ELEMENTS = ("C", "H", "N", "O", "S", "P", "F", "Cl", "Br", "I", "B", "Si", "Se")
DESC_SIZE = len(ELEMENTS) + 3  # + other atoms, MW, present flag
COUNT_SIZE = len(ELEMENTS) + 1  # the atom-count part of the descriptors, "other" included
_FORMULA_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)")


def formula_features(formula: str | None, mw: float | None = None) -> list[float]:
    """Scaled atom counts of a molecular formula plus MW; all zeros when unknown.

    Raises ValueError for text that is not a formula, so a typo is reported, not ignored.
    """
    if not formula:
        return [0.0] * DESC_SIZE
    text = formula.strip()
    # RDKit formulas of ions end in a charge ("C7H16NO3+"); the counts ignore it.
    if not re.fullmatch(r"(?:[A-Z][a-z]?\d*)+(?:[+-]\d*)?", text):
        raise ValueError(f"not a molecular formula: {formula!r}")
    counts = dict.fromkeys(ELEMENTS + ("other",), 0)
    for symbol, number in _FORMULA_TOKEN.findall(text):
        counts[symbol if symbol in counts else "other"] += int(number) if number else 1
    if mw is None:
        mw = _formula_mass(counts)
    # Counts around 10 and MW around 300 scale to about 1, which suits the linear layer.
    features = [counts[e] / 10.0 for e in ELEMENTS] + [counts["other"] / 10.0, mw / 300.0]
    return features + [1.0]


_MASSES = {"C": 12.011, "H": 1.008, "N": 14.007, "O": 15.999, "S": 32.06, "P": 30.974,
           "F": 18.998, "Cl": 35.45, "Br": 79.904, "I": 126.904, "B": 10.81, "Si": 28.085,
           "Se": 78.971, "other": 50.0}


def _formula_mass(counts: dict) -> float:
    return sum(_MASSES[symbol] * n for symbol, n in counts.items())


class ConvEncoder(nn.Module):
    """A stride-2 stem, then stages of (conv, BN, ReLU) x depth with 2x2 max pooling between.

    Output: a feature grid (B, side*side, C) with learned 2D position embeddings added, so the
    attention knows where on the drawing each cell sits.
    """

    def __init__(self, channels: tuple[int, ...], depth: int, image_size: int, dim: int):
        super().__init__()
        layers: list[nn.Module] = [_conv(1, channels[0], stride=2)]
        in_ch = channels[0]
        for i, out_ch in enumerate(channels):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            for _ in range(depth):
                layers.append(_conv(in_ch, out_ch))
                in_ch = out_ch
        self.body = nn.Sequential(*layers)
        self.side = image_size // (2 ** len(channels))
        self.project = nn.Linear(in_ch, dim)
        self.position = nn.Parameter(torch.zeros(self.side * self.side, dim))
        nn.init.normal_(self.position, std=0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        grid = self.body(images)  # (B, C, side, side)
        cells = grid.flatten(2).transpose(1, 2)  # (B, side*side, C)
        return self.project(cells) + self.position[: cells.size(1)]


def _conv(in_ch: int, out_ch: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class ImageToSmiles(nn.Module):
    """CNN feature grid + descriptor branch -> LSTM decoder with Luong attention.

    Two decoders. Without input feeding, attention reads the decoder output and the LSTM never
    sees what was attended, so teacher-forced training is one LSTM call over the whole target
    sequence. With ``input_feed``, each step's attentional output is fed into the next step's
    LSTM input (Luong et al., 2015): the decoder then knows where on the drawing it has just
    read, which a reader needs to move on to the neighbouring atom; the price is a loop over
    the target steps in training. A fed model loads the weights of an unfed one (see
    ``_feed_from_plain``), so a plain run can be continued with input feeding.

    With ``count_head``, a linear map per grid cell, summed over the grid, estimates the atom
    counts of the formula from the drawing alone (``count_atoms``). Trained beside the SMILES
    loss, it asks every cell to say which atom label it holds, a direct lesson in reading
    "N", "S" or "Cl" that the decoder's loss teaches only through the attention.
    """

    def __init__(self, tgt_vocab: int, image_size: int = 224,
                 channels: tuple[int, ...] = (32, 64, 128, 256), depth: int = 2,
                 embed: int = 128, hidden: int = 256, dropout: float = 0.1,
                 input_feed: bool = False, count_head: bool = False):
        super().__init__()
        self.image_size = image_size
        self.input_feed = bool(input_feed)
        self.encoder = ConvEncoder(tuple(channels), depth, image_size, hidden)
        self.desc = nn.Sequential(nn.Linear(DESC_SIZE, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden))
        self.init_h = nn.Linear(2 * hidden, hidden)
        self.init_c = nn.Linear(2 * hidden, hidden)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed, padding_idx=PAD_ID)
        if self.input_feed:
            self.cell = nn.LSTMCell(embed + hidden, hidden)
            self.register_load_state_dict_pre_hook(_feed_from_plain)
        else:
            self.decoder = nn.LSTM(embed, hidden, batch_first=True)
        self.attn_in = nn.Linear(hidden, hidden, bias=False)
        self.combine = nn.Linear(3 * hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, tgt_vocab)
        self.atom_counts = nn.Linear(hidden, COUNT_SIZE) if count_head else None
        if count_head:
            self.register_load_state_dict_pre_hook(_fresh_count_head)

    def encode(self, images: torch.Tensor, desc: torch.Tensor | None = None) -> dict:
        """Images (B, 1, S, S) and descriptors (B, DESC_SIZE) or None -> decoding state."""
        return self._start(self.encoder(images), desc)

    def count_atoms(self, state: dict) -> torch.Tensor:
        """Scaled atom counts (B, COUNT_SIZE), as in ``formula_features``, read off the grid."""
        if self.atom_counts is None:
            raise ValueError("this image model has no count head")
        return self.atom_counts(state["memory"]).sum(dim=1)

    def _start(self, memory: torch.Tensor, desc: torch.Tensor | None) -> dict:
        """Feature grid (B, N, H) and descriptors -> the decoder's first state."""
        if desc is None:
            desc = memory.new_zeros(memory.size(0), DESC_SIZE)
        info = self.desc(desc)  # (B, H)
        start = torch.cat([memory.mean(dim=1), info], dim=-1)  # (B, 2H)
        state = {
            "h": torch.tanh(self.init_h(start)).unsqueeze(1),  # (B, 1, H)
            "c": self.init_c(start).unsqueeze(1),  # (B, 1, H)
            "keys": self.attn_in(memory),  # (B, N, H), projected once for all steps
            "memory": memory,
            "info": info,
        }
        if self.input_feed:
            state["feed"] = torch.zeros_like(info)  # (B, H): nothing attended before step 1
        return state

    def _attend(self, out: torch.Tensor, state: dict) -> torch.Tensor:
        """Decoder outputs (B, T, H) -> attentional outputs (B, T, H) over the feature grid."""
        scores = torch.bmm(out, state["keys"].transpose(1, 2))  # (B, T, N)
        context = torch.bmm(torch.softmax(scores, dim=-1), state["memory"])  # (B, T, H)
        info = state["info"].unsqueeze(1).expand(-1, out.size(1), -1)  # (B, T, H)
        return torch.tanh(self.combine(torch.cat([out, context, info], dim=-1)))

    def _decode(self, tgt: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        if self.input_feed:
            return self._decode_fed(tgt, state)
        hc = (state["h"].transpose(0, 1).contiguous(), state["c"].transpose(0, 1).contiguous())
        out, (h, c) = self.decoder(self.tgt_embed(tgt), hc)  # (B, T, H)
        mixed = self._attend(out, state)
        new = dict(state, h=h.transpose(0, 1), c=c.transpose(0, 1))
        return self.out(self.dropout(mixed)), new

    def _decode_fed(self, tgt: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        embedded = self.tgt_embed(tgt)  # (B, T, E)
        h, c, feed = state["h"][:, 0], state["c"][:, 0], state["feed"]
        steps = []
        for t in range(tgt.size(1)):
            h, c = self.cell(torch.cat([embedded[:, t], feed], dim=-1), (h, c))
            feed = self._attend(h.unsqueeze(1), state)[:, 0]  # (B, H)
            steps.append(feed)
        mixed = torch.stack(steps, dim=1)  # (B, T, H)
        new = dict(state, h=h.unsqueeze(1), c=c.unsqueeze(1), feed=feed)
        return self.out(self.dropout(mixed)), new

    def forward(self, images: torch.Tensor, desc: torch.Tensor | None, tgt_in: torch.Tensor,
                with_counts: bool = False):
        """Teacher-forced logits (B, T, V); with ``with_counts``, (logits, atom counts)."""
        state = self.encode(images, desc)
        logits = self._decode(tgt_in, state)[0]
        return (logits, self.count_atoms(state)) if with_counts else logits

    def step(self, tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        logits, state = self._decode(tokens.unsqueeze(1), state)
        return logits[:, 0], state


def _feed_from_plain(module, state_dict, prefix, *args) -> None:
    """Load hook of a fed model: rename a plain model's decoder LSTM weights to the fed cell.

    The input weights of the fed part start at zero, so the converted model computes exactly
    what the plain one did and training then learns to use what was attended.
    """
    if f"{prefix}decoder.weight_ih_l0" not in state_dict:
        return
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        state_dict[f"{prefix}cell.{name}"] = state_dict.pop(f"{prefix}decoder.{name}_l0")
    weight_ih = state_dict[f"{prefix}cell.weight_ih"]  # (4H, E)
    feed_part = weight_ih.new_zeros(weight_ih.size(0), module.cell.hidden_size)
    state_dict[f"{prefix}cell.weight_ih"] = torch.cat([weight_ih, feed_part], dim=1)


def _fresh_count_head(module, state_dict, prefix, *args) -> None:
    """Load hook: a checkpoint without a count head keeps this model's freshly made one."""
    for name, value in module.atom_counts.state_dict().items():
        state_dict.setdefault(f"{prefix}atom_counts.{name}", value)


# Named size settings. "reference" follows the reference design at 224 px; "fast" is the CPU
# alternative: 128 px drawings, fewer channels, one conv per stage, trained with larger batches.
# "grid16" drops the last stage of "fast": a 16 x 16 grid of 8 px cells, so attention can point
# at single atoms of a 40-atom drawing, at 0.75x the training speed of "fast" on two CPU cores.
# "grid16-feed" adds input feeding to "grid16" (about 0.4x its training speed on two cores);
# "grid16-count" adds the count head (nearly free in time). "wide-count" doubles the channels
# of "grid16-count", so the stem and first stage have room to tell small atom labels apart
# (0.7x the training speed of "grid16" on two cores).
_GRID16 = {"image_size": 128, "channels": (16, 32, 64), "depth": 1, "embed": 96, "hidden": 256,
           "dropout": 0.1}
VARIANTS = {
    "reference": {"image_size": 224, "channels": (32, 64, 128, 256), "depth": 2, "embed": 128,
                  "hidden": 256, "dropout": 0.1},
    "fast": {**_GRID16, "channels": (16, 32, 64, 128)},
    "grid16": _GRID16,
    "grid16-feed": {**_GRID16, "input_feed": 1},
    "grid16-count": {**_GRID16, "count_head": 1},
    "wide-count": {**_GRID16, "channels": (32, 64, 128), "count_head": 1},
}


def model_settings(variant: str, overrides: dict | None = None) -> dict:
    """The size settings of a variant: its defaults updated with ``overrides``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown image-model variant {variant!r}; choose from {list(VARIANTS)}")
    settings = {"input_feed": 0, "count_head": 0, **VARIANTS[variant]}  # switches for any
    settings.update({k: v for k, v in (overrides or {}).items() if k in settings})
    settings["channels"] = list(settings["channels"])
    return settings


def build_image_model(variant: str, tgt_vocab: int, **sizes) -> ImageToSmiles:
    """Build an image model variant; ``sizes`` override its default settings."""
    return ImageToSmiles(tgt_vocab, **model_settings(variant, sizes))

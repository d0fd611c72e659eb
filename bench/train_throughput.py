"""Name-model throughput: training pairs/s per variant, decoding names/s greedy against beam.

    python bench/train_throughput.py [--steps 10 --batch-size 64 --threads 1 --device cpu]

Batches are real IUPAC name/SMILES pairs from data/names.parquet when it exists (random
tokens of typical lengths otherwise). Ratios compare each variant with the reference variant
measured in the same run, so a loaded machine affects both sides alike.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
from torch.nn.functional import cross_entropy
from torch.nn.utils.rnn import pad_sequence

from chemnet import paths
from chemnet.decode import beam_search
from chemnet.nets.name_model import VARIANTS, build_name_model
from chemnet.tokenizer import PAD_ID, Vocab


def sample_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    if paths.NAMES_PARQUET.exists():
        frame = pd.read_parquet(paths.NAMES_PARQUET, columns=["name", "kind", "smiles"])
        frame = frame[frame["kind"] == "iupac"].sample(n=n, random_state=seed)
        return frame["name"].tolist(), frame["smiles"].tolist()
    gen = torch.Generator().manual_seed(seed)
    names = ["".join(chr(97 + int(c)) for c in torch.randint(0, 26, (41,), generator=gen))
             for _ in range(n)]
    return names, ["CC(=O)Nc1ccc(O)cc1C" * 2 for _ in range(n)]


def encode(names, smiles, source: Vocab, target: Vocab, device):
    src = [torch.tensor(source.encode(n)) for n in names]
    tgt = [torch.tensor(target.encode(s, bos=True, eos=True)) for s in smiles]
    return (pad_sequence(src, batch_first=True, padding_value=PAD_ID).to(device),
            torch.tensor([len(s) for s in src]),
            pad_sequence(tgt, batch_first=True, padding_value=PAD_ID).to(device))


def train_rate(variant: str, batch, vocab_sizes, steps: int, device) -> float:
    """Training pairs per second (forward, backward, Adam step) after one warm-up step."""
    model = build_name_model(variant, *vocab_sizes).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.002)
    src, src_len, tgt = batch
    for i in range(steps + 1):
        if i == 1:
            _sync(device)
            start = time.perf_counter()
        logits = model(src, src_len, tgt[:, :-1])
        loss = cross_entropy(logits.reshape(-1, logits.size(-1)), tgt[:, 1:].reshape(-1),
                             ignore_index=PAD_ID)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _sync(device)
    return steps * src.size(0) / (time.perf_counter() - start)


def decode_rate(model, batch, beam: int, device) -> float:
    src, src_len, _ = batch
    model.eval()
    _sync(device)
    start = time.perf_counter()
    with torch.inference_mode():
        beam_search(model, src, src_len, beam=beam, max_len=102)
    _sync(device)
    return src.size(0) / (time.perf_counter() - start)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    names, smiles = sample_pairs(args.batch_size)
    source, target = Vocab.build(names, "chars"), Vocab.build(smiles, "smiles")
    batch = encode(names, smiles, source, target, device)
    sizes = (len(source), len(target))
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"{args.steps} steps")

    rates = {v: train_rate(v, batch, sizes, args.steps, device) for v in args.variants.split(",")}
    ref = rates.get("reference")
    for variant, rate in rates.items():
        ratio = f"  x{rate / ref:.2f} vs reference" if ref else ""
        print(f"train  {variant:<12} {rate:8.1f} pairs/s{ratio}")

    model = build_name_model("attention", *sizes).to(device)
    shipped = paths.NAME_MODEL
    if shipped.exists():  # decode with the shipped model, whose outputs have real lengths
        from chemnet.predict import load_predictor

        predictor = load_predictor(shipped, device=args.device)
        model = predictor.model
        batch = encode(names, smiles, predictor.source, predictor.target, device)
    greedy = decode_rate(model, batch, 1, device)
    beamed = decode_rate(model, batch, args.beam, device)
    print(f"decode greedy        {greedy:8.1f} names/s")
    print(f"decode beam {args.beam:<8} {beamed:8.1f} names/s  x{beamed / greedy:.2f} vs greedy")


if __name__ == "__main__":
    main()

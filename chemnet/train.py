"""The trainer, `python -m chemnet.train --task name|image`: task-agnostic, resumable, DDP-ready.

A run writes results/runs/<run_id>/ (config.json before the first step, status.json,
history.csv, steps.csv, train.log, last.pth, best.pth). Under torchrun it trains with
DistributedDataParallel (gloo on CPU, nccl on GPU) and only rank 0 writes files.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from chemnet import paths
from chemnet.batching import BucketBatchSampler
from chemnet.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from chemnet.runfiles import RunFiles, new_run_id
from chemnet.tasks import Task, get_task

logger = logging.getLogger(__name__)

# The reference settings; every one can be overridden by a flag of the same name.
DEFAULTS = {
    "epochs": 50,
    "batch_size": 256,
    "lr": 0.002,
    "weight_decay": 0.0,
    "scheduler": "step",  # StepLR(step_size, gamma) per epoch, or "cosine" over all epochs
    "step_size": 10,
    "gamma": 0.5,
    "warmup_steps": 0,
    "grad_clip": 1.0,
    "seed": 42,
    "device": "auto",
    "limit": None,
    "val_limit": None,
    "max_minutes": None,
    "log_every": 10,
    "num_threads": None,
    "num_workers": 0,  # DataLoader worker processes for the training set (image rendering)
    "best_metric": "val_loss",
}
# Flags that a resumed run may change; everything else comes from the run's config.json.
RESUME_OVERRIDES = ("epochs", "max_minutes", "device", "log_every", "num_threads", "val_limit",
                    "num_workers")


class StopTraining(Exception):
    """Raised inside the loop when a signal asks the run to stop."""


def setup_distributed(device_kind: str) -> tuple[int, int]:
    """Join the process group when started by torchrun; returns (rank, world size)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        logger.warning("CUDA requested but not available; training on CPU")
        return torch.device("cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def make_scheduler(optimizer: torch.optim.Optimizer, config: dict):
    if config["scheduler"] == "plateau":
        # The image model's reference: halve the rate when val_loss stalls for `patience` epochs.
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=config.get("gamma", 0.5),
            patience=config.get("patience", 3), min_lr=config.get("min_lr", 1e-6))
    if config["scheduler"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config["epochs"],
                                                          eta_min=config["lr"] * 0.02)
    return torch.optim.lr_scheduler.StepLR(optimizer, config["step_size"], config["gamma"])


class Trainer:
    """One training run of one task; see the module docstring for what it writes."""

    def __init__(self, config: dict, resume: bool = False):
        self.config = config
        self.device = pick_device(config["device"])
        self.rank, self.world = setup_distributed(self.device.type)
        if self.device.type == "cuda" and self.world > 1:
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        self.main = self.rank == 0
        self.task: Task = get_task(config["task"])(config)  # checks the config first
        self.files = RunFiles(Path(config["runs_dir"]) / config["run_id"], write=self.main)
        self.stop_reason: str | None = None
        self.started = time.time()
        self.resume = resume

    # ----- setup -----

    def setup(self) -> None:
        threads = self.config["num_threads"] or max(1, (os.cpu_count() or 1) // self.world)
        torch.set_num_threads(threads)
        torch.manual_seed(self.config["seed"])
        ckpt = load_checkpoint(self.files.last) if self.resume else None
        init = None
        if self.config.get("init_from") and not self.resume:
            init = load_checkpoint(self.config["init_from"])
        vocab = (ckpt or init or {}).get("vocab")
        self.train_set, self.val_set = self.task.load_data(vocab)
        self.model = self.task.build_model().to(self.device)
        if init:
            self._load_init(init)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config["lr"],
                                          weight_decay=self.config["weight_decay"])
        self.scheduler = make_scheduler(self.optimizer, self.config)
        self.epoch, self.step, self.best, self.seconds = 0, 0, None, 0.0
        if ckpt:
            self._restore(ckpt)
        self.wrapped = self.model
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped = DistributedDataParallel(self.model, device_ids=ids)
        self.loader = self._loader(self.train_set, shuffle=True)
        self.total_steps = self.config["epochs"] * len(self.loader)
        params = sum(p.numel() for p in self.model.parameters())
        self.config.update(parameters=params, world_size=self.world, device_used=str(self.device),
                           data=self.task.data_counts())
        logger.info("task %s, device %s x%d, %d threads, %d parameters, %d steps/epoch",
                    self.config["task"], self.device, self.world, threads, params, len(self.loader))
        if self.main and not self.resume:
            self.files.write_config(self.config)

    def _load_init(self, init: dict) -> None:
        """Start from the --init-from weights, or say plainly why they do not fit."""
        source = self.config["init_from"]
        try:
            self.model.load_state_dict(init["model_state_dict"])
        except RuntimeError as exc:
            # torch lists every mismatched tensor; the first two lines name the problem.
            detail = " ".join(str(exc).splitlines()[:2]).strip()
            raise ValueError(f"the weights of {source} do not fit the model asked for "
                             f"(did a --model-arg change a size?): {detail}") from exc
        logger.info("weights and vocabulary from %s", source)

    def _restore(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt["model_state_dict"])
        self.optimizer.load_state_dict(ckpt["optimizer_state_dict"])
        self.scheduler.load_state_dict(ckpt["scheduler_state_dict"])
        metrics = ckpt["metrics"]
        self.epoch, self.step = int(ckpt["epoch"]), int(metrics.get("step", 0))
        self.best, self.seconds = metrics.get("best"), float(metrics.get("train_seconds", 0.0))
        self.files.truncate(self.epoch, self.step)
        logger.info("resumed %s after epoch %d (step %d)", self.config["run_id"], self.epoch,
                    self.step)

    def _loader(self, dataset, shuffle: bool) -> DataLoader:
        lengths = self.task.lengths(dataset)
        batch = self.config["batch_size"] if shuffle else self.config["batch_size"] * 2
        if lengths is None:
            lengths = [0] * len(dataset)
        world, rank = (self.world, self.rank) if shuffle else (1, 0)
        sampler = BucketBatchSampler(lengths, batch, shuffle=shuffle, seed=self.config["seed"],
                                     rank=rank, world=world)
        # Workers only for training: they keep their drawing caches across epochs.
        workers = int(self.config.get("num_workers") or 0) if shuffle else 0
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=self.task.collate,
                          num_workers=workers, persistent_workers=workers > 0)

    # ----- loop -----

    def run(self) -> None:
        """Train until the last epoch, the time budget or a stop signal."""
        self.files.status("running", epoch=self.epoch, step=self.step, total=self.total_steps,
                          message="training")
        message = f"completed {self.config['epochs']} epochs"
        try:
            while self.epoch < self.config["epochs"]:
                self._train_epoch(self.epoch + 1)
                self.epoch += 1
                self._end_epoch()
                if self._out_of_time():
                    message = (f"time budget of {self.config['max_minutes']} min reached "
                               f"after epoch {self.epoch}")
                    break
        except StopTraining:
            self._checkpoint(self.files.last, {})
            self.files.status("stopped", epoch=self.epoch, step=self.step,
                              total=self.total_steps, message=f"stopped by {self.stop_reason}")
            logger.info("stopped by %s at step %d; last.pth written", self.stop_reason, self.step)
            return
        self.files.status("finished", epoch=self.epoch, step=self.step, total=self.total_steps,
                          message=message)
        logger.info("finished: %s", message)

    def _train_epoch(self, epoch: int) -> None:
        self.loader.batch_sampler.set_epoch(epoch)
        torch.manual_seed(self.config["seed"] + epoch)
        self.wrapped.train()
        self.sums = {"loss": 0.0, "samples": 0, "tokens": 0, "correct": 0}
        window, window_start, epoch_start = 0, time.time(), time.time()
        bar = tqdm(self.loader, desc=f"epoch {epoch}", disable=not self.main, leave=False,
                   mininterval=1.0 if sys.stderr.isatty() else 30.0)
        for batch in bar:
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

            # Warm-up: scale the scheduled learning rate during the first steps.
            self._apply_warmup()

            # Forward, loss, backward, step.
            loss, counts = self.task.loss(self.wrapped, batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config["grad_clip"])
            self.optimizer.step()
            self.step += 1
            self._accumulate(loss.item(), counts)
            window += counts["samples"]

            # Step-level curve, flushed so the dashboard moves within an epoch.
            if self.step % self.config["log_every"] == 0:
                now = time.time()
                rate = window * self.world / max(now - window_start, 1e-9)
                self.files.append_step(self.step, epoch, loss.item(), rate,
                                       self.seconds + now - epoch_start, self._lr())
                self.files.status("running", epoch=self.epoch, step=self.step,
                                  total=self.total_steps, message=f"epoch {epoch}")
                bar.set_postfix(loss=f"{loss.item():.3f}", pairs_s=f"{rate:.0f}")
                window, window_start = 0, now

            # Stop check: a signal on any rank stops all ranks at the same step.
            if self._should_stop():
                self.seconds += time.time() - epoch_start
                raise StopTraining
        self.epoch_seconds = time.time() - epoch_start
        self.seconds += self.epoch_seconds

    def _end_epoch(self) -> None:
        val = self.validate() if self.main else {}
        lr = self._lr()
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            fallback = self.sums["loss"] / max(self.sums["samples"], 1)
            self.scheduler.step(val.get("val_loss") or fallback)
        else:
            self.scheduler.step()
        if self.main:
            row = {
                "epoch": self.epoch,
                "train_loss": self.sums["loss"] / max(self.sums["samples"], 1),
                "val_loss": val.get("val_loss"),
                "val_accuracy": val.get("val_accuracy"),
                "learning_rate": lr,
                "train_accuracy": self.sums["correct"] / max(self.sums["tokens"], 1),
                "seconds": round(self.epoch_seconds, 2),
                "samples_per_s": round(self.sums["samples"] * self.world
                                       / max(self.epoch_seconds, 1e-9), 1),
                **{k: v for k, v in val.items() if k not in ("val_loss", "val_accuracy")},
            }
            self.files.append_history(row)
            improved = self._is_better(row)
            self._checkpoint(self.files.last, row)
            if improved:
                self._checkpoint(self.files.best, row)
            logger.info("epoch %d: train %.4f val %.4f acc %.4f %s lr %.2e %.0fs%s", self.epoch,
                        row["train_loss"], row["val_loss"] or 0, row["val_accuracy"] or 0,
                        " ".join(f"{k} {v:.4f}" for k, v in val.items()
                                 if k not in ("val_loss", "val_accuracy")),
                        lr, row["seconds"], " (best)" if improved else "")
        if self.world > 1:
            dist.barrier()

    @torch.no_grad()
    def validate(self) -> dict:
        """Validation loss and token accuracy under teacher forcing, plus the task's extras."""
        if len(self.val_set) == 0:
            return {}
        self.model.eval()
        loss_sum, samples, tokens, correct = 0.0, 0, 0, 0
        for batch in self._loader(self.val_set, shuffle=False):
            batch = {k: v.to(self.device) for k, v in batch.items()}
            loss, counts = self.task.loss(self.model, batch)
            loss_sum += loss.item() * counts["samples"]
            samples += counts["samples"]
            tokens += counts["tokens"]
            correct += counts["correct"]
        out = {"val_loss": loss_sum / samples, "val_accuracy": correct / max(tokens, 1)}
        out.update(self.task.validate_extra(self.model, self.val_set, self.device))
        self.model.train()
        return out

    # ----- helpers -----

    def _accumulate(self, loss: float, counts: dict) -> None:
        self.sums["loss"] += loss * counts["samples"]
        for key in ("samples", "tokens", "correct"):
            self.sums[key] += counts[key]

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _apply_warmup(self) -> None:
        warm = self.config["warmup_steps"]
        if warm and self.step <= warm:
            base = self.scheduler.get_last_lr()[0]
            for group in self.optimizer.param_groups:
                group["lr"] = base * min(1.0, (self.step + 1) / warm)

    def _is_better(self, row: dict) -> bool:
        metric = self.config["best_metric"]
        value = row.get(metric)
        if value is None:
            value = row["train_loss"]
        lower_is_better = metric.endswith("loss")
        if self.best is None or (value < self.best if lower_is_better else value > self.best):
            self.best = float(value)
            return True
        return False

    def _should_stop(self) -> bool:
        flag = self.stop_reason is not None
        if self.world > 1:
            t = torch.tensor([float(flag)], device=self.device)
            dist.all_reduce(t)
            flag = bool(t.item() > 0)
            if flag and self.stop_reason is None:
                self.stop_reason = "a signal on another rank"
        return flag

    def _out_of_time(self) -> bool:
        budget = self.config.get("max_minutes")
        over = bool(budget) and time.time() - self.started >= float(budget) * 60
        if self.world > 1:
            t = torch.tensor([float(over)], device=self.device)
            dist.broadcast(t, src=0)
            over = bool(t.item() > 0)
        return over

    def _checkpoint(self, path: Path, row: dict) -> None:
        if not self.main:
            return
        metrics = {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in row.items()
                   if v is not None}
        metrics.update(step=self.step, best=self.best, train_seconds=self.seconds)
        save_checkpoint({
            "model_state_dict": self.model.state_dict(),
            "optimizer_state_dict": self.optimizer.state_dict(),
            "scheduler_state_dict": self.scheduler.state_dict(),
            "vocab": self.task.vocab_dict(),
            "config": self.config,
            "epoch": self.epoch,
            "metrics": metrics,
        }, path)

    def request_stop(self, signum, _frame) -> None:
        self.stop_reason = signal.Signals(signum).name


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, type[Task]]:
    """Parse the common flags, then the flags the chosen task adds."""
    parser = argparse.ArgumentParser(prog="python -m chemnet.train", description=__doc__)
    parser.add_argument("--task", default=None, help="name or image (default: name)")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--resume", metavar="RUN_ID", default=None)
    parser.add_argument("--runs-dir", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--variant", default=None, help="model variant of the task")
    parser.add_argument("--init-from", metavar="CHECKPOINT", default=None,
                        help="start a new run from this checkpoint's weights and vocabulary "
                             "(fresh optimizer and schedule), e.g. to fine-tune a shipped model")
    for key, value in DEFAULTS.items():
        kind = type(value) if value is not None else (float if key == "max_minutes" else int)
        kind = str if kind is str else kind
        parser.add_argument("--" + key.replace("_", "-"), type=kind, default=None)
    parser.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="model size override, e.g. hidden=512 (repeatable)")
    known, _ = parser.parse_known_args(argv)
    task_name = known.task
    if known.resume and not task_name:
        task_name = RunFiles.read_config(_runs_dir(known) / known.resume).get("task")
    try:
        task_cls = get_task(task_name or "name")
    except (ValueError, FileNotFoundError) as exc:
        parser.error(str(exc))
    task_cls.add_arguments(parser)
    return parser.parse_args(argv), task_cls


def _runs_dir(args: argparse.Namespace) -> Path:
    return Path(args.runs_dir) if args.runs_dir else paths.RUNS_DIR


def _model_args(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = int(value)
        except ValueError:
            out[key] = float(value)
    return out


def build_config(args: argparse.Namespace, task_cls: type[Task]) -> dict:
    """Reference defaults, then task defaults, then the flags the user gave."""
    config = {"task": task_cls.name, **DEFAULTS, **task_cls.defaults()}
    for key, value in vars(args).items():
        if value is not None and key not in ("task", "resume", "model_arg"):
            config[key] = value
    config["model"] = {**config.get("model", {}), **_model_args(args.model_arg)}
    if args.init_from:
        _take_architecture(config, args.init_from, task_cls, _model_args(args.model_arg))
    config["runs_dir"] = str(_runs_dir(args))
    config["run_id"] = args.run_id or new_run_id(task_cls.name)
    return config


def _take_architecture(config: dict, checkpoint: str, task_cls: type[Task],
                       model_args: dict | None = None) -> None:
    """Copy the network's shape from the --init-from checkpoint: its weights must fit.

    ``--model-arg`` settings still win over the checkpoint's, for models that can load weights
    of a related shape (an image model with input feeding from one without, say).
    """
    theirs = load_checkpoint(checkpoint)["config"]
    if theirs["task"] != task_cls.name:
        raise ValueError(f"--init-from {checkpoint} holds a {theirs['task']} model, "
                         f"not a {task_cls.name} model")
    for key in task_cls.architecture_keys():
        if key in theirs:
            config[key] = theirs[key]
    if model_args:
        config["model"] = {**config.get("model", {}), **model_args}


def resume_config(args: argparse.Namespace) -> dict:
    """The run's saved config with the few flags a resumed run may change."""
    run_dir = _runs_dir(args) / args.resume
    config = RunFiles.read_config(run_dir)
    for key in RESUME_OVERRIDES:
        value = getattr(args, key, None)
        if value is not None:
            config[key] = value
    config["runs_dir"] = str(_runs_dir(args))
    return config


def main(argv: list[str] | None = None) -> int:
    args, task_cls = parse_args(argv)
    try:
        config = resume_config(args) if args.resume else build_config(args, task_cls)
        run_dir = Path(config["runs_dir"]) / config["run_id"]
        if not args.resume and (run_dir / "config.json").exists():
            raise ValueError(f"run {config['run_id']} exists; continue it with --resume")
        trainer = Trainer(config, resume=bool(args.resume))
    except (FileNotFoundError, ValueError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    handlers = trainer.files.setup_logging()
    previous = {sig: signal.signal(sig, trainer.request_stop)
                for sig in (signal.SIGTERM, signal.SIGINT)}
    code = 0
    try:
        trainer.files.status("running", message="loading data")
        trainer.setup()
        trainer.run()
    except Exception as exc:
        logger.exception("training failed")
        trainer.files.status("failed", message=f"{type(exc).__name__}: {exc}")
        code = 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()
    return code


if __name__ == "__main__":
    sys.exit(main())

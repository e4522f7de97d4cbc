"""The training loop: one process or many (`torchrun`: DDP over gloo on CPU, NCCL on GPU), gradient
accumulation, bf16 autocast on GPU, checkpoints with exact resume, and a JSON-lines log of losses and
throughput (`<output>/log.jsonl`).

Exact resume: the data stream is a pure function of (seed, rank, batches taken), and a checkpoint holds
the trained weights, optimizer, schedule, step and each rank's RNG state, so a run stopped and resumed
takes the same steps on the same batches as one that never stopped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from videogcg.model import checkpoint as ckpt
from videogcg.model.architecture import GroundingModel
from videogcg.model.batches import TrainingBatches
from videogcg.model.config import TrainConfig
from videogcg.model.data import ManifestFilter, select
from videogcg.model.inputs import Batch, ExampleEncoder
from videogcg.model.parts import load_parts

logger = logging.getLogger(__name__)


class TrainingSetupError(ValueError):
    """A run that cannot start: no shards, filters that leave nothing, a checkpoint of another layout."""


@dataclass
class StepLog:
    step: int
    loss: float
    ce: float
    bce: float
    dice: float
    lr: float
    samples: int  # global samples in this step
    step_seconds: float
    loader_seconds: float  # of which this rank waited for batches
    skipped: dict[str, int] = field(default_factory=dict)  # cumulative on this rank

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.step_seconds if self.step_seconds else 0.0


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> Distributed:
        """The process's place in a `torchrun` job (one process when not launched by torchrun)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world > 1 and not dist.is_initialized():
            dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        return cls(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        """Wait for every rank, then leave the process group."""
        if self.world_size > 1:
            dist.barrier()
            dist.destroy_process_group()

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        if self.world_size > 1:
            values = values.clone()
            dist.all_reduce(values)
            values /= self.world_size
        return values


def warmup_then_linear_decay(warmup: int, total: int) -> Callable[[int], float]:
    """DeepSpeed's WarmupDecayLR as VideoGLaMM uses it: linear warm-up, then linear decay to 0 at `total`."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


class Trainer:
    def __init__(self, config: TrainConfig, output: str | Path, on_step: Callable[[StepLog], None] | None = None):
        if not config.data.shards:
            raise TrainingSetupError("no shards to train on: set data.shards or pass --shards")
        self.config = config
        self.output = Path(output)
        self.on_step = on_step
        self.dist = Distributed.from_environment()
        if torch.cuda.is_available():
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        precision = config.optim.precision
        self.autocast_dtype = torch.bfloat16 if precision == "bf16" or (precision == "auto" and self.device.type == "cuda") else None

    def _autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def build(self) -> tuple[GroundingModel, ExampleEncoder]:
        parts = load_parts(self.config.model.parts, self.config.cache_dir, str(self.device))
        encoder = ExampleEncoder(parts.tokenizer, self.config.model, parts.image_input, parts.video_input, parts.sam_input)
        # Seeded after the parts load: building a tiny part on first use draws from the generator, which made the
        # new weights (adapters, the [SEG] embedding row) depend on whether this process had built it or loaded it.
        torch.manual_seed(self.config.optim.seed)  # the same initial adapters on every rank
        model = GroundingModel(parts, self.config.model, encoder.seg_id).to(self.device)
        self.revisions = parts.revisions
        return model, encoder

    def _loader(self, encoder: ExampleEncoder, start: int) -> DataLoader:
        data = self.config.data
        shards = select(list(data.shards), ManifestFilter(data.sources, data.review_states, data.min_confidence))
        if not shards:
            raise TrainingSetupError(f"the manifest filters leave no sample in {list(data.shards)}")
        stream = TrainingBatches(
            shards,
            encoder,
            self.config.optim.batch_size,
            self.dist.rank,
            self.dist.world_size,
            data.shuffle_buffer,
            self.config.optim.seed,
            data.source_weights,
            start,
        )
        return DataLoader(stream, batch_size=None, num_workers=data.num_workers, persistent_workers=data.num_workers > 0)

    def run(self) -> list[StepLog]:
        optim = self.config.optim
        model, encoder = self.build()
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_linear_decay(optim.warmup_steps, optim.steps))
        step, rng = self._resume(model, optimizer, scheduler)
        if self.dist.main:
            self._write_run_files(encoder)
        wrapped = DistributedDataParallel(model, find_unused_parameters=True) if self.dist.world_size > 1 else model
        batches = iter(self._loader(encoder, step * optim.grad_accumulation))
        if rng is not None:  # only now: starting the loader draws from torch's generator
            ckpt.set_rng_state(rng)
        skipped: Counter = Counter()
        logs = []
        model.train()
        while step < optim.steps:
            started, waited = time.perf_counter(), 0.0
            totals = torch.zeros(5, dtype=torch.float64)  # loss, ce, bce, dice, samples
            for micro in range(optim.grad_accumulation):
                before = time.perf_counter()
                batch: Batch = next(batches)
                waited += time.perf_counter() - before
                skipped.update(batch.skipped)
                sync = micro == optim.grad_accumulation - 1 or self.dist.world_size == 1
                with nullcontext() if sync else wrapped.no_sync(), self._autocast():
                    out = wrapped(batch.to(self.device))
                (out.loss / optim.grad_accumulation).backward()
                totals += torch.tensor([out.loss.item(), out.ce.mean().item(), out.bce.mean().item(), out.dice.mean().item(), len(batch)])
            if optim.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(trainable, optim.grad_clip)
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            means = self.dist.mean((totals[:4] / optim.grad_accumulation).to(self.device)).cpu()  # NCCL reduces CUDA tensors
            log = StepLog(
                step,
                *(float(v) for v in means),
                lr=lr,
                samples=int(totals[4]) * self.dist.world_size,
                step_seconds=time.perf_counter() - started,
                loader_seconds=waited,
                skipped=dict(skipped),
            )
            logs.append(log)
            self._log(log)
            if step % optim.checkpoint_every == 0 or step == optim.steps:
                self._save(model, optimizer, scheduler, step)
        if self.dist.main:
            torch.save(model.trainable_state(), self.output / "trainable.pt")
        self.dist.close()
        return logs

    def _log(self, log: StepLog) -> None:
        if not self.dist.main:
            return
        if log.step % self.config.optim.log_every == 0 or log.step == self.config.optim.steps:
            record = {**log.__dict__, "samples_per_second": round(log.samples_per_second, 3)}
            with (self.output / "log.jsonl").open("a") as stream:
                stream.write(json.dumps(record) + "\n")
            logger.info(
                "step %d loss %.4f (ce %.4f bce %.4f dice %.4f) %.2f samples/s",
                log.step,
                log.loss,
                log.ce,
                log.bce,
                log.dice,
                log.samples_per_second,
            )
        if self.on_step:
            self.on_step(log)

    def _write_run_files(self, encoder: ExampleEncoder) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        (self.output / "config.yaml").write_text(yaml.safe_dump(self.config.model_dump(mode="json"), sort_keys=False))
        (self.output / "parts.json").write_text(json.dumps(self.revisions, indent=2))
        encoder.tokenizer.save_pretrained(self.output / "tokenizer")

    def _layout(self) -> dict:
        """What decides which batches each step takes: a resume must match it to continue the same stream."""
        optim = self.config.optim
        return {
            "world_size": self.dist.world_size,
            "batch_size": optim.batch_size,
            "grad_accumulation": optim.grad_accumulation,
            "seed": optim.seed,
            "data": self.config.data.model_dump(mode="json"),
        }

    def _save(self, model: GroundingModel, optimizer, scheduler, step: int) -> None:
        staging = ckpt.staging_dir(self.output, step)
        if self.dist.main:
            staging.mkdir(parents=True, exist_ok=True)
        self.dist.barrier()
        ckpt.save_rank_state(staging, self.dist.rank)
        if self.dist.main:
            ckpt.save_shared(
                staging, ckpt.Checkpoint(step, model.trainable_state(), optimizer.state_dict(), scheduler.state_dict()), self._layout()
            )
        self.dist.barrier()
        if self.dist.main:
            path = ckpt.publish(self.output, step, self.config.optim.keep_checkpoints)
            logger.info("saved checkpoint %s", path)
        self.dist.barrier()

    def _resume(self, model: GroundingModel, optimizer, scheduler) -> tuple[int, dict | None]:
        """Load the latest checkpoint, if any: (its step, this rank's RNG state to restore)."""
        path = ckpt.latest(self.output)
        if path is None:
            return 0, None
        saved, rng = ckpt.load(path, self.dist.rank)
        layout = json.loads((path / "state.json").read_text())
        differs = {k: (layout.get(k), v) for k, v in self._layout().items() if layout.get(k) != v}
        if differs:
            raise TrainingSetupError(f"{path}: cannot resume exactly with a different layout (saved, now): {differs}")
        model.load_trainable_state(saved.model)
        optimizer.load_state_dict(saved.optimizer)
        scheduler.load_state_dict(saved.scheduler)
        if self.dist.main:  # steps logged after the checkpoint are trained again: their records go
            log = self.output / "log.jsonl"
            if log.exists():
                kept = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= saved.step]
                log.write_text("".join(line + "\n" for line in kept))
        logger.info("resumed from %s at step %d", path, saved.step)
        return saved.step, rng

"""Run under torchrun by test_distributed.py: train a tiny model on 2 ranks, check sync."""
import os
import sys

import torch
import torch.distributed as dist

from conftest import tiny_config
from vcgan.engine.distributed import shutdown
from vcgan.engine.trainer import Trainer
from vcgan.training import build

feats, out = sys.argv[1], sys.argv[2]
cfg = tiny_config(feats, out, **{"train.steps": 3})
task, sampler = build(cfg)
trainer = Trainer(task, sampler, cfg["train"], out, cfg)
assert trainer.world == 2, trainer.world
trainer.fit()
flat = torch.cat([p.detach().flatten() for p in task.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(2)]
dist.all_gather(gathered, flat)
assert torch.equal(gathered[0], gathered[1]), "parameters diverged between ranks"
# the ranks saw different data (different sampler seeds)
batch = sampler.next_batch()["a"].flatten()[:64]
others = [torch.zeros_like(batch) for _ in range(2)]
dist.all_gather(others, batch)
assert not torch.equal(others[0], others[1]), "both ranks sampled the same data"
print(f"rank {dist.get_rank()} ok")
del gathered, others
shutdown()  # as `vcgan train` ends: both ranks done with the group before either tears it down
# gloo's worker threads can abort the interpreter's own teardown ("terminate called without an
# active exception", seen on a loaded 2-core machine after both ranks had passed): everything
# this worker checks has been checked and printed, so leave without that teardown
sys.stdout.flush()
os._exit(0)

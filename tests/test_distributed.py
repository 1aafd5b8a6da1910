import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tiny_config
from vcgan.errors import CheckpointError
from vcgan.training import train


def test_torchrun_gloo_data_parallel_and_no_resume_under_another_world_size(tiny_feats, tmp_path):
    """Two CPU processes (gloo): identical parameters after training, different data per rank."""
    here = Path(__file__).parent
    env = dict(os.environ, PYTHONPATH=str(here) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
           str(here / "ddp_worker.py"), str(tiny_feats), str(tmp_path / "run")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "rank 0 ok" in proc.stdout and "rank 1 ok" in proc.stdout
    assert (tmp_path / "run" / "checkpoints" / "latest.pt").is_file()
    # resuming that 2-process run in one process would give this rank rank 0's sample stream and
    # drop rank 1's: refused, with the reason and the fix
    cfg = tiny_config(tiny_feats, tmp_path / "run", **{"train.steps": 5})
    with pytest.raises(CheckpointError, match=r"written by a run of 2 process\(es\), resumed by 1: .*resume with 2"):
        train(cfg)

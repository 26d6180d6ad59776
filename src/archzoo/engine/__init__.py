"""The engine: training loop, checkpoints, optimizers and schedules, progress, distributed runs."""

from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.trainer import RunDirError, Trainer, TrainingDiverged, evaluate_run, resume, train

__all__ = [
    "ConfigError", "RunDirError", "TrainConfig", "Trainer", "TrainingDiverged", "evaluate_run", "resume", "train",
]

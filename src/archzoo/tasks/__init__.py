"""Objectives, one file each: the loss, the step and the evaluation of a kind of problem."""

from __future__ import annotations

from archzoo.tasks.base import Task
from archzoo.tasks.classification import ClassificationTask
from archzoo.tasks.perceptron import PerceptronTask
from archzoo.tasks.regression import RegressionTask

__all__ = ["ClassificationTask", "PerceptronTask", "RegressionTask", "Task", "make_task"]


def make_task(model_task: str, data_task: str, num_classes: int | None) -> Task:
    """The task for a (model, dataset) pair: the model's own rule where it has one (the perceptron),
    else the dataset's objective."""
    if model_task == "perceptron":
        return PerceptronTask(num_classes or 2)
    if data_task == "classification":
        return ClassificationTask(num_classes or 2)
    if data_task == "regression":
        return RegressionTask()
    raise ValueError(f"no task for a {model_task} model on {data_task} data")

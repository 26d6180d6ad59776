"""Objectives, one file each: the loss, the step and the evaluation of a kind of problem."""

from __future__ import annotations

from typing import Any

from archzoo.engine.config import ConfigError
from archzoo.tasks.adversarial import AdversarialTask
from archzoo.tasks.adversarial_cycle import CycleGANTask
from archzoo.tasks.anomaly import AnomalyTask
from archzoo.tasks.base import Batches, DataPlan, Task, TensorPlan
from archzoo.tasks.classification import ClassificationTask
from archzoo.tasks.forecasting import ForecastingTask
from archzoo.tasks.language_model import LanguageModelTask
from archzoo.tasks.perceptron import PerceptronTask
from archzoo.tasks.reconstruction import ReconstructionTask
from archzoo.tasks.regression import RegressionTask
from archzoo.tasks.text_classification import TextClassificationTask
from archzoo.tasks.translation import TranslationTask
from archzoo.tasks.vae import VAETask

__all__ = ["AdversarialTask", "AnomalyTask", "Batches", "ClassificationTask", "CycleGANTask", "DataPlan",
           "ForecastingTask", "LanguageModelTask", "PerceptronTask", "ReconstructionTask", "RegressionTask", "Task",
           "TensorPlan", "TextClassificationTask", "TranslationTask", "VAETask", "make_task"]

_IMAGE_TASKS = {"reconstruction": ReconstructionTask, "vae": VAETask}  # models that learn images alone


def make_task(model_task: str, ds: Any) -> Task:
    """The task for a (model, dataset) pair: the model's own rule where it has one (the perceptron),
    else the dataset's objective."""
    num_classes = getattr(ds, "num_classes", None) or len(getattr(ds, "classes", ())) or None
    if model_task == "anomaly":  # a sequence autoencoder, or a forecaster with objective=anomaly
        if ds.task != "forecasting":
            raise ConfigError(f"anomaly detection needs a time series (sunspots-monthly, eu-stocks, csv:PATH), not "
                              f"{ds.name}")
        return AnomalyTask()
    if (model_task == "forecasting") != (ds.task == "forecasting"):
        if model_task == "forecasting":
            raise ConfigError(f"a forecaster needs a time series (airpassengers, sunspots-monthly, eu-stocks, "
                              f"csv:PATH), not {ds.name}")
        raise ConfigError(f"{ds.name} is a time series for forecasters; {model_task} models do not train on it "
                          "(see `archzoo list --task forecasting`)")
    if ds.task == "forecasting":
        return ForecastingTask()
    if model_task == "cycle_adversarial":  # image-to-image translation between two unpaired domains
        if ds.task != "unpaired":
            raise ConfigError(f"a CycleGAN translates between two unpaired image domains (sneakers2boots, "
                              f"unpaired:fashion-mnist:7,9), not {ds.name}")
        return CycleGANTask()
    if ds.task == "unpaired":
        raise ConfigError(f"{ds.name} is two unpaired image domains for image-to-image translation; {model_task} "
                          "models do not train on it (see `archzoo list --task cycle_adversarial`)")
    if model_task == "text_classification" and ds.task != "text_classification":
        raise ConfigError(f"a text classifier needs labelled text (mr, textcls:DIR), not {ds.name}")
    if ds.task == "text_classification" and model_task not in ("text_classification", "language_model"):
        raise ConfigError(f"{ds.name} is labelled text for text classifiers; {model_task} models do not train on it "
                          "(see `archzoo list --task text_classification`)")
    if (model_task == "translation") != (ds.task == "translation"):
        if model_task == "translation":
            raise ConfigError(f"a translation model needs a parallel corpus (multi30k-de-en, multi30k-en-de, "
                              f"parallel:DIR), not {ds.name}")
        raise ConfigError(f"{ds.name} is a parallel corpus for translation models; {model_task} models do not train "
                          "on it (see `archzoo list --task translation`)")
    if ds.task == "translation":
        return TranslationTask()
    if model_task == "adversarial":
        if ds.task == "generative":  # points of a known mixture (gaussians25, gaussians8)
            return AdversarialTask(points=True)
        if ds.task != "classification" or not getattr(ds, "is_image", False):
            raise ConfigError(f"a GAN learns images (fashion-mnist, mnist) or 2-D mixtures (gaussians25, gaussians8), "
                              f"not {ds.name}")
        return AdversarialTask(points=False)
    if ds.task == "generative":
        raise ConfigError(f"{ds.name} is a set of 2-D points for generative adversarial networks; {model_task} "
                          "models do not train on it (see `archzoo list --task adversarial`)")
    if model_task in _IMAGE_TASKS:
        if ds.task != "classification" or not getattr(ds, "is_image", False):
            raise ConfigError(f"{model_task} models learn images (fashion-mnist, mnist), not {ds.name}")
        return _IMAGE_TASKS[model_task]()
    if model_task == "perceptron":
        return PerceptronTask(num_classes or 2)
    if model_task == "language_model" and ds.task != "language_model":
        raise ConfigError(f"a language model needs a text corpus (tinyshakespeare, text:PATH), not {ds.name}")
    if ds.task == "classification":
        return ClassificationTask(num_classes or 2)
    if ds.task == "regression":
        return RegressionTask()
    if ds.task == "text_classification":
        return TextClassificationTask(num_classes or 2)
    if ds.task == "language_model":
        if model_task != "language_model":
            raise ConfigError(f"{ds.name} is a text corpus for language models; {model_task} models do not train "
                              "on it (see `archzoo list --task language_model`)")
        return LanguageModelTask()
    raise ValueError(f"no task for a {model_task} model on {ds.task} data")

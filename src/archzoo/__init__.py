"""archzoo: deep learning architectures from the perceptron to the Transformer, in PyTorch.

The public API (a contract): model registry, parameter and FLOP counting, datasets.
"""

from archzoo.data import list_datasets, load_dataset
from archzoo.registry import (
    FlopCount,
    ModelCard,
    count_flops,
    count_params,
    create_model,
    list_models,
    model_card,
    register_model,
)

__version__ = "0.1.0"

__all__ = [
    "FlopCount",
    "ModelCard",
    "__version__",
    "count_flops",
    "count_params",
    "create_model",
    "list_datasets",
    "list_models",
    "load_dataset",
    "model_card",
    "register_model",
]

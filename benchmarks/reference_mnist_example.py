"""The common reference recipe: PyTorch's MNIST example, run on Fashion-MNIST.

The network, optimizer and schedule of the `mnist` example in the pytorch/examples repository
(two 3x3 convolutions of 32 and 64 channels, max-pool, dropout 0.25, a 128-unit layer, dropout 0.5;
Adadelta lr 1.0, StepLR gamma 0.7 every epoch, batch 64, test batch 1000), fed the way it feeds
data: a Dataset that converts each sample on its own (ToTensor, then Normalize((0.1307,), (0.3081,)))
behind a DataLoader. torchvision's transforms are used when torchvision is installed; otherwise the
same two per-sample steps are written out.

    python benchmarks/reference_mnist_example.py [--epochs 3] [--target 0.915]

Prints one JSON line per epoch (test accuracy, wall seconds since the start).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

import archzoo
from _common import PerSample


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def _transform():
    try:
        from torchvision import transforms

        return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    except ImportError:
        def to_tensor_normalize(img: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(img).unsqueeze(0).float().div(255.0)  # ToTensor: (1, H, W) in 0..1
            return (t - 0.1307) / 0.3081  # Normalize
        return to_tensor_normalize


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--target", type=float, default=0.915)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    ds = archzoo.load_dataset("fashion-mnist")
    train = DataLoader(PerSample(ds.splits["train"].x, ds.splits["train"].y, _transform()), batch_size=64, shuffle=True)
    test = DataLoader(PerSample(ds.splits["test"].x, ds.splits["test"].y, _transform()), batch_size=1000)
    model = Net()
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    reached = None
    for epoch in range(1, args.epochs + 1):
        model.train()
        for x, y in train:
            opt.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test:
                correct += (model(x).argmax(1) == y).sum().item()
        sched.step()
        acc = correct / len(test.dataset)
        elapsed = time.perf_counter() - t0
        if reached is None and acc >= args.target:
            reached = elapsed
        print(json.dumps({"epoch": epoch, "test_accuracy": acc, "elapsed_s": round(elapsed, 2)}), flush=True)
    print(json.dumps({"done": True, "time_to_target_s": reached, "final_accuracy": acc,
                      "wall_time_s": round(time.perf_counter() - t0, 2)}), flush=True)


if __name__ == "__main__":
    main()

"""The reference VAE recipe: PyTorch's `vae` example, run on Fashion-MNIST (or MNIST).

The network, loss, optimizer and data pipeline of vae/main.py in the pytorch/examples repository: a
784-400-20 ReLU encoder (fc1, fc21 for mu, fc22 for log sigma^2), a 20-400-784 decoder ending in a sigmoid,
the summed binary cross-entropy of the reconstruction plus the KL divergence per batch, Adam at 1e-3,
batches of 128 shuffled by a DataLoader over a Dataset that converts each image on its own (ToTensor: 0..1),
10 epochs, seed 1. After each epoch it reports the test loss as the example computes it: the summed loss of
the test images (the codes sampled, as its forward always does) divided by their number, in nats per image.
On MNIST the example ends near 105-106.

    python benchmarks/reference_vae_example.py [--data fashion-mnist] [--epochs 10]

Prints one JSON line per epoch (train and test loss, wall seconds since the start).
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


class VAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def loss_function(recon_x: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def _to_tensor():
    try:
        from torchvision import transforms

        return transforms.ToTensor()
    except ImportError:
        def to_tensor(img: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(img).unsqueeze(0).float().div(255.0)  # ToTensor: (1, H, W) in 0..1
        return to_tensor


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    ds = archzoo.load_dataset(args.data)
    train = DataLoader(PerSample(ds.splits["train"].x, ds.splits["train"].y, _to_tensor()), batch_size=128,
                       shuffle=True)
    test = DataLoader(PerSample(ds.splits["test"].x, ds.splits["test"].y, _to_tensor()), batch_size=128)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        model.train()
        train_loss = 0.0
        for x, _ in train:
            opt.zero_grad()
            recon, mu, logvar = model(x)
            loss = loss_function(recon, x, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            opt.step()
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for x, _ in test:
                recon, mu, logvar = model(x)
                test_loss += loss_function(recon, x, mu, logvar).item()
        print(json.dumps({"epoch": epoch, "train_loss": train_loss / len(train.dataset),
                          "test_loss": test_loss / len(test.dataset),
                          "elapsed_s": round(time.perf_counter() - t0, 2)}), flush=True)
    print(json.dumps({"done": True, "test_loss": test_loss / len(test.dataset), "params": sum(
        p.numel() for p in model.parameters()), "wall_time_s": round(time.perf_counter() - t0, 2)}), flush=True)


if __name__ == "__main__":
    main()

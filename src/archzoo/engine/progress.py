"""Progress: a bar (epoch, step, loss, throughput, ETA) on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    def __init__(self, total_steps: int, epochs: int, enabled: bool = True, stream: TextIO | None = None,
                 lines_per_epoch: int = 4) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.epochs = epochs
        self.bar: tqdm | None = None
        self.lines_per_epoch = lines_per_epoch
        self.steps_per_epoch = total_steps

    def note(self, message: str) -> None:
        """One line before training starts (what the run resolved: device, precision)."""
        if self.enabled:
            print(message, file=self.stream, flush=True)

    def start_epoch(self, epoch: int, start_step: int) -> None:
        self.epoch, self.t0, self.samples, self.step0 = epoch, time.perf_counter(), 0, start_step
        if self.tty:
            self.bar = tqdm(total=self.steps_per_epoch, initial=start_step, desc=f"epoch {epoch + 1}/{self.epochs}",
                            file=self.stream, dynamic_ncols=True, leave=False)

    def update(self, step: int, loss: float, batch: int) -> None:
        if not self.enabled:
            return
        self.samples += batch
        rate = self.samples / max(time.perf_counter() - self.t0, 1e-9)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}", ips=f"{rate:,.0f}", refresh=False)
        else:
            every = max(1, self.steps_per_epoch // self.lines_per_epoch)
            if (step + 1) % every == 0 or step + 1 == self.steps_per_epoch:
                per_step = (time.perf_counter() - self.t0) / max(step + 1 - self.step0, 1)
                left = (self.steps_per_epoch - step - 1) * per_step
                print(f"epoch {self.epoch + 1}/{self.epochs} step {step + 1}/{self.steps_per_epoch} "
                      f"loss {loss:.4f} {rate:,.0f} samples/s eta {left:.0f}s", file=self.stream, flush=True)

    def end_epoch(self, message: str) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.enabled:
            print(message, file=self.stream, flush=True)

"""PyTorch reference of the ROAP training step (Tang & Ellis 2022, Sec. 3.2 and 4.1).

The peer that bench/training-step.ts is compared against: the same nets, shapes, batch and
optimizer as sketchc's runtime, written the way one would write them in PyTorch. It is a
benchmark peer only, never part of sketchc or its tests.

    python3 bench/reference/roap_reference.py --out bench/results/.pytorch.json

Workloads (forward + backward + Adam step; median of --steps steps after --warmup):
  grounder     the small CNN on B*V = 96 images 28x28x1, loss = mean squared output
  recognizer   the PointNet recognizer, T=500 tasks, B=32 pairs, arith heads
  interpreter  the soft straight-line interpreter of Fig. 3 on trainable program logits
  roap         the full step: g -> r -> gumbel-softmax -> interpreter -> Eq. 4, clipped Adam
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

# Shapes of the benchmark (the arith sketch of sketches/arith.sketch, Sec. 4.1).
TASKS = 500  # T
PAIRS = 32  # B: pairs per step, shared by all tasks
INPUTS = 3  # V: symbols per pair
LINES = 30  # L: lines of straight-line code
SLOTS = INPUTS + LINES  # an argument reads an input or an earlier line
IMAGE = (1, 28, 28)  # Fashion-MNIST, NCHW
HIDDEN = 128  # recognizer hidden width = feature size
MASKED_LOGIT = -1e9
LEARNING_RATE = 3e-4
ADAM_EPS = 1e-5
CLIP_NORM = 10.0


# --------------------------------------------------------------------------------------------
# The symbol grounder g: image -> one scalar symbol.


class Grounder(nn.Module):
    """[conv3x3 -> ReLU -> maxpool2] x 2 (16, 32 filters), flatten, Linear 64 -> ReLU -> Linear 1."""

    def __init__(self, channels: int = 1, size: int = 28, filters=(16, 32), hidden: int = 64):
        super().__init__()
        layers: list[nn.Module] = []
        for f in filters:
            layers += [nn.Conv2d(channels, f, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            channels, size = f, size // 2
        self.features = nn.Sequential(
            *layers, nn.Flatten(), nn.Linear(channels * size * size, hidden), nn.ReLU()
        )
        self.output = nn.Linear(hidden, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # [N, C, H, W] -> [N]
        return self.output(self.features(images)).squeeze(-1)


# --------------------------------------------------------------------------------------------
# The recognizer r: a PointNet over each task's set of (s, y) pairs -> program logits.


def mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """Linear -> LayerNorm -> ReLU -> Linear -> LayerNorm -> ReLU -> Linear (Sec. 4.1)."""
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.LayerNorm(hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.ReLU(),
        nn.Linear(hidden, outputs),
    )  # fmt: skip


def arith_heads() -> dict[str, torch.Tensor]:
    """Masks of the heads of z for the straight-line sketch of Fig. 3: op [L, K], arg [L, V + L]."""
    line = torch.arange(LINES)[:, None]
    slot = torch.arange(SLOTS)[None, :]
    args = slot < INPUTS + line  # line l reads the inputs and lines before it
    return {"op": torch.ones(LINES, 4, dtype=torch.bool), "arg1": args, "arg2": args.clone()}


class PointNetRecognizer(nn.Module):
    """MLP_out, MLP_rel (shared over j), MLP_io, max over pairs, MLP_prog (Sec. 3.2, App. A)."""

    def __init__(self, masks: dict[str, torch.Tensor], inputs: int = INPUTS, hidden: int = HIDDEN):
        super().__init__()
        self.inputs = inputs
        self.mlp_out = mlp(1, hidden, hidden)  # y
        self.mlp_rel = mlp(2, hidden, hidden)  # [y; s_j]
        self.mlp_io = mlp(1 + inputs, hidden, hidden)  # [y; s]
        self.shapes = {name: tuple(m.shape) for name, m in masks.items()}
        for name, m in masks.items():
            self.register_buffer(f"mask_{name}", m)
        logits = sum(r * c for r, c in self.shapes.values())
        self.mlp_prog = mlp((2 + inputs) * hidden, hidden, logits)

    def forward(self, s: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """s: [B, V] symbols shared by all tasks; y: [T, B] -> logits per head [T, rows, choices]."""
        T, B = y.shape
        V = self.inputs
        y = y.unsqueeze(-1)  # [T, B, 1]
        s = s.expand(T, B, V)  # [T, B, V]
        h_out = self.mlp_out(y).amax(1)  # [T, F]
        pairs = torch.stack([y.expand(T, B, V), s], -1)  # [T, B, V, 2]
        h_rel = self.mlp_rel(pairs).amax(1).flatten(1)  # [T, V * F]
        h_io = self.mlp_io(torch.cat([y, s], -1)).amax(1)  # [T, F]
        logits = self.mlp_prog(torch.cat([h_out, h_io, h_rel], 1))  # [T, sum rows * choices]
        sizes = [r * c for r, c in self.shapes.values()]
        out = {}
        for (name, shape), part in zip(self.shapes.items(), logits.split(sizes, 1)):
            mask = getattr(self, f"mask_{name}")
            out[name] = part.view(T, *shape).masked_fill(~mask, MASKED_LOGIT)
        return out


# --------------------------------------------------------------------------------------------
# The soft interpreter of Fig. 3.

OPERATORS: list[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = [
    lambda a, b: a + b,  # add
    lambda a, b: a - b,  # sub
    lambda a, b: a * b,  # mul
    lambda a, b: a,  # skip
]


def execute(z: dict[str, torch.Tensor], s: torch.Tensor) -> torch.Tensor:
    """z: op [T, L, K], arg1/arg2 [T, L, V + L] probabilities; s: [B, V] -> output [T, B].

    Line l reads each argument as the z-weighted sum of the slots before it (inputs and earlier
    lines), applies every operator and mixes the results by z^op. The output is the last line.
    """
    T = z["op"].shape[0]
    B, V = s.shape
    slots = list(s.t().unsqueeze(1).expand(V, T, B).unbind(0))  # V x [T, B]
    for line in range(z["op"].shape[1]):
        window = torch.stack(slots, -1)  # [T, B, n]
        n = window.shape[-1]
        a = torch.einsum("tbn,tn->tb", window, z["arg1"][:, line, :n])
        b = torch.einsum("tbn,tn->tb", window, z["arg2"][:, line, :n])
        results = torch.stack([op(a, b) for op in OPERATORS], -1)  # [T, B, K]
        slots.append(torch.einsum("tbk,tk->tb", results, z["op"][:, line]))
    return slots[-1]


# --------------------------------------------------------------------------------------------
# The ROAP model and its training step (Fig. 2, Eq. 3-5).


class Roap(nn.Module):
    def __init__(self):
        super().__init__()
        self.grounder = Grounder()
        self.recognizer = PointNetRecognizer(arith_heads())

    def forward(self, images: torch.Tensor, y: torch.Tensor, sharpness: float = 1.0):
        s = self.grounder(images).view(-1, INPUTS)  # (I) s = g(x): [B, V]
        logits = self.recognizer(s, y)  # (II) q(z | r({s, y}))
        z = {k: F.gumbel_softmax(v, tau=1.0 / sharpness) for k, v in logits.items()}  # Eq. 5
        return execute(z, s)  # (III) yHat = [[z]](s): [T, B]


def reconstruction_loss(y: torch.Tensor, y_hat: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Eq. 4: mean over tasks and pairs of (y - yHat)^2 / (2 sigma_t^2)."""
    return ((y - y_hat) ** 2 / (2 * sigma[:, None] ** 2)).mean()


def adam(params) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=LEARNING_RATE, eps=ADAM_EPS)


def roap_step(model: Roap, opt, images, y, sigma) -> float:
    loss = reconstruction_loss(y, model(images, y), sigma)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
    opt.step()
    return loss.item()


# --------------------------------------------------------------------------------------------
# Benchmark harness.


def time_steps(step: Callable[[], object], warmup: int, steps: int) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def random_batch(gen: torch.Generator):
    images = torch.rand(PAIRS * INPUTS, *IMAGE, generator=gen)
    y = torch.rand(TASKS, PAIRS, generator=gen) * 2 - 0.5
    sigma = y.std(1).clamp_min(0.05)
    return images, y, sigma


def recognizer_loss(logits: dict[str, torch.Tensor], weights: dict[str, torch.Tensor]):
    """A cheap loss over every head: the mean of softmax(logits) times fixed random weights."""
    return sum((F.softmax(v, -1) * weights[k]).mean() for k, v in logits.items())


def program_logits(gen: torch.Generator) -> tuple[dict[str, nn.Parameter], dict[str, torch.Tensor]]:
    masks = arith_heads()
    logits = {k: nn.Parameter(torch.randn(TASKS, *m.shape, generator=gen)) for k, m in masks.items()}
    return logits, masks


def soft_program(logits, masks) -> dict[str, torch.Tensor]:
    return {k: F.softmax(v.masked_fill(~masks[k], MASKED_LOGIT), -1) for k, v in logits.items()}


def run_workloads(warmup: int, steps: int, profile_steps: int) -> tuple[list[dict], list[dict]]:
    gen = torch.Generator().manual_seed(0)
    images, y, sigma = random_batch(gen)
    s = torch.rand(PAIRS, INPUTS, generator=gen) * 0.9 + 0.1
    rows, profile = [], []

    def row(id_: str, label: str, step):
        times = time_steps(step, warmup, steps)
        rows.append({"id": id_, "label": label, "seconds": times})
        print(f"  {label}: median {statistics.median(times) * 1e3:.1f} ms", flush=True)

    def component(name: str, forward, loss_of):
        def fwd():
            with torch.no_grad():
                forward()

        def fwd_bwd():
            loss_of(forward()).backward()

        profile.append(
            {
                "name": name,
                "forward": time_steps(fwd, 1, profile_steps),
                "forwardBackward": time_steps(fwd_bwd, 1, profile_steps),
            }
        )

    # (a) grounder
    grounder = Grounder()
    opt = adam(grounder.parameters())

    def grounder_step():
        loss = grounder(images).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    row("grounder", "grounder step (small CNN, 96 images 28x28)", grounder_step)
    component("grounder", lambda: grounder(images), lambda out: out.pow(2).mean())

    # (b) recognizer
    recognizer = PointNetRecognizer(arith_heads())
    opt = adam(recognizer.parameters())
    weights = {k: torch.rand(*m.shape, generator=gen) for k, m in arith_heads().items()}

    def recognizer_step():
        loss = recognizer_loss(recognizer(s, y), weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    row("recognizer", "recognizer step (PointNet, T=500, B=32, H=128)", recognizer_step)
    component(
        "recognizer", lambda: recognizer(s, y), lambda out: recognizer_loss(out, weights)
    )

    # (c) interpreter
    logits, masks = program_logits(gen)
    target = torch.rand(TASKS, PAIRS, generator=gen)
    opt = adam(logits.values())

    def interpreter_step():
        loss = (execute(soft_program(logits, masks), s) - target).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    row("interpreter", "interpreter step (L=30, K=4, T=500, B=32)", interpreter_step)
    component(
        "gumbel-softmax",
        lambda: {k: F.gumbel_softmax(v.masked_fill(~masks[k], MASKED_LOGIT)) for k, v in logits.items()},
        lambda z: sum((v * weights[k]).mean() for k, v in z.items()),
    )
    component(
        "interpreter",
        lambda: execute(soft_program(logits, masks), s),
        lambda out: (out - target).pow(2).mean(),
    )

    # (d) the full ROAP step
    model = Roap()
    opt = adam(model.parameters())
    row("roap", "full ROAP step (arith, T=500, B=32)", lambda: roap_step(model, opt, images, y, sigma))
    component(
        "full model",
        lambda: model(images, y),
        lambda out: reconstruction_loss(y, out, sigma),
    )
    return rows, profile


def matmul_gflops(n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def loaded_blas() -> list[str]:
    """The BLAS libraries this process has mapped (after a matmul), e.g. openblas-pthread."""
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return sorted(os.path.realpath(p) for p in libs)


def openblas_info() -> dict:
    """OPENBLAS_CORETYPE and what the OpenBLAS this process mapped reports (core, config, threads)."""
    import ctypes

    info: dict = {"coretypeEnv": os.environ.get("OPENBLAS_CORETYPE")}
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
            handle.openblas_get_corename.restype = ctypes.c_char_p
            handle.openblas_get_config.restype = ctypes.c_char_p
            info.update(
                library=os.path.realpath(lib),
                core=handle.openblas_get_corename().decode(),
                config=handle.openblas_get_config().decode(),
                threads=int(handle.openblas_get_num_threads()),
            )
            break
        except (OSError, AttributeError):
            continue
    return info


def process_env() -> dict:
    """The thread and kernel settings of the process, and the cores it may run on."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_CORETYPE")
    return {**{n: os.environ.get(n) for n in names}, "cpusAllowed": sorted(os.sched_getaffinity(0))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--profile-steps", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_start = os.getloadavg()[0]
    gflops = matmul_gflops()
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"1024x1024 matmul {gflops:.0f} GFLOP/s", flush=True)  # fmt: skip
    rows, profile = run_workloads(args.warmup, args.steps, args.profile_steps)
    result = {
        "side": "pytorch",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
        "openblas": openblas_info(),
        "env": process_env(),
        "matmul1024GFlops": gflops,
        "loadAvg": {"start": load_start, "end": os.getloadavg()[0]},
        "warmup": args.warmup,
        "steps": args.steps,
        "rows": rows,
        "profile": profile,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()

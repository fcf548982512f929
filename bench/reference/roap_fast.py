"""A PyTorch peer of the ROAP training step written for speed (the strong peer of bench/run.sh).

The same model, shapes, initialisation, loss and optimizer as bench/reference/roap_reference.py
(whose modules it subclasses, so a state dict moves between the two), computed the way one
writes PyTorch for speed:

  - the interpreter of Fig. 3 is one custom autograd Function over all tasks at once: the slots
    live in one [T, V + L, B] tensor, each line's two reads are one broadcast multiply-sum (no
    per-task GEMM, no stack of the slots), the operators are mixed by three precomputed
    coefficients (add + sub + skip collapse to c_a a + c_b b + c_m a b), and the backward pass is
    hand-written (reverse over the lines, in-place accumulation of the slot gradients);
  - the recognizer's first layers, whose inputs are 1 to 4 wide, are broadcast outer products
    instead of K <= 4 GEMMs, and the part that depends only on the shared symbols s is computed
    once for all tasks, not once per task; LayerNorm's output is rectified in place; the max
    over pairs keeps its indices (a scatter backward, no compare);
  - Adam with foreach=True; the thread pools sized to the cores actually used;
  - optionally --workers 2: two task workers (Python threads, one BLAS thread each) split the
    tasks, which the recognizer, the interpreter and the loss treat independently; the grounder
    runs once and receives the sum of both workers' gradients in s.

    python3 bench/reference/roap_fast.py --out bench/results/.fast.json [--workers 2]
    python3 bench/reference/roap_fast.py --check   # agreement with roap_reference.py, or exit 1

Workloads and the JSON written are those of roap_reference.py (grounder, recognizer,
interpreter, roap; plus a profile of forward and forward + backward per component).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roap_reference as ref  # noqa: E402

TASKS, PAIRS, INPUTS, LINES, SLOTS = ref.TASKS, ref.PAIRS, ref.INPUTS, ref.LINES, ref.SLOTS
HEADS = ("op", "arg1", "arg2")


# --------------------------------------------------------------------------------------------
# The interpreter: one autograd Function over all tasks.


class Interpret(torch.autograd.Function):
    """op [T, L, 4] (add, sub, mul, skip), arg1/arg2 [T, L, V + L], s [B, V] -> last line [T, B].

    Line l reads arg_i = sum_n z^arg_i[t, l, n] slot[t, n, b] over the V + l slots before it and
    writes c_a a + c_b b + c_m a b, with c_a = z^add + z^sub + z^skip, c_b = z^add - z^sub and
    c_m = z^mul, which is the z^op-weighted mix of (a + b, a - b, a b, a).
    """

    @staticmethod
    def forward(ctx, op, arg1, arg2, s):
        T, L, _ = op.shape
        B, V = s.shape
        slots = op.new_empty(T, V + L, B)
        slots[:, :V] = s.t()
        args = torch.stack([arg1, arg2], 2)  # [T, L, 2, V + L]
        coef = torch.stack(
            [op[..., 0] + op[..., 1] + op[..., 3], op[..., 0] - op[..., 1], op[..., 2]], -1
        )  # [T, L, 3]
        ab = op.new_empty(T, L, 2, B)  # each line's two arguments
        for line in range(L):
            n = V + line
            read = ab[:, line]
            torch.sum(args[:, line, :, :n, None] * slots[:, None, :n], 2, out=read)
            a, b = read[:, 0], read[:, 1]
            c = coef[:, line, :, None]  # [T, 3, 1]
            out = slots[:, n]
            torch.mul(a, c[:, 0], out=out)
            out.addcmul_(b, c[:, 1]).addcmul_(a * b, c[:, 2])
        ctx.save_for_backward(args, coef, ab, slots)
        ctx.inputs = V
        return slots[:, -1].clone()

    @staticmethod
    def backward(ctx, grad):
        args, coef, ab, slots = ctx.saved_tensors
        V = ctx.inputs
        T, L, _, N = args.shape
        g_slots = torch.zeros_like(slots)
        g_slots[:, -1] = grad
        g_args = args.new_zeros(T, L, 2, N)
        g_op = coef.new_empty(T, L, 4)
        for line in reversed(range(L)):
            n = V + line
            g = g_slots[:, n]  # complete: only later lines read slot n
            a, b = ab[:, line, 0], ab[:, line, 1]
            ga_sum, gb_sum, gm_sum = (g * a).sum(-1), (g * b).sum(-1), (g * a * b).sum(-1)
            g_op[:, line, 0] = ga_sum + gb_sum
            g_op[:, line, 1] = ga_sum - gb_sum
            g_op[:, line, 2] = gm_sum
            g_op[:, line, 3] = ga_sum
            c = coef[:, line, :, None]
            g_ab = torch.stack([g * (c[:, 0] + c[:, 2] * b), g * (c[:, 1] + c[:, 2] * a)], 1)
            torch.sum(g_ab[:, :, None, :] * slots[:, None, :n], -1, out=g_args[:, line, :, :n])
            window = g_slots[:, :n]
            window.addcmul_(args[:, line, 0, :n, None], g_ab[:, None, 0])
            window.addcmul_(args[:, line, 1, :n, None], g_ab[:, None, 1])
        g_s = g_slots[:, :V].sum(0).t()
        return g_op, g_args[:, :, 0], g_args[:, :, 1], g_s


def execute(z: dict[str, torch.Tensor], s: torch.Tensor) -> torch.Tensor:
    return Interpret.apply(z["op"], z["arg1"], z["arg2"], s)


# --------------------------------------------------------------------------------------------
# The recognizer: the reference's module and parameters, a faster forward.


def _tail(m: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """The reference mlp after its first Linear: LN -> ReLU -> Linear -> LN -> ReLU -> Linear."""
    ln1, lin2, ln2, lin3 = m[1], m[3], m[4], m[6]
    x = F.layer_norm(x, ln1.normalized_shape, ln1.weight, ln1.bias, ln1.eps).relu_()
    x = F.layer_norm(F.linear(x, lin2.weight, lin2.bias), ln2.normalized_shape, ln2.weight, ln2.bias, ln2.eps)
    return F.linear(x.relu_(), lin3.weight, lin3.bias)


class FastRecognizer(ref.PointNetRecognizer):
    def forward(self, s: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        T, B = y.shape
        y1 = y.unsqueeze(-1)  # [T, B, 1]
        w_out, w_rel, w_io = self.mlp_out[0], self.mlp_rel[0], self.mlp_io[0]
        # First layers as outer products; the s-only terms once for all tasks.
        h_out = torch.addcmul(w_out.bias, y1, w_out.weight[:, 0])  # [T, B, F]
        rel_s = torch.addcmul(w_rel.bias, s.unsqueeze(-1), w_rel.weight[:, 1])  # [B, V, F]
        h_rel = (y1 * w_rel.weight[:, 0]).unsqueeze(2) + rel_s  # [T, B, V, F]
        io_s = F.linear(s, w_io.weight[:, 1:], w_io.bias)  # [B, F]
        h_io = torch.addcmul(io_s, y1, w_io.weight[:, 0])  # [T, B, F]
        h_out = _tail(self.mlp_out, h_out).max(1)[0]
        h_rel = _tail(self.mlp_rel, h_rel).max(1)[0].flatten(1)
        h_io = _tail(self.mlp_io, h_io).max(1)[0]
        logits = self.mlp_prog(torch.cat([h_out, h_io, h_rel], 1))
        sizes = [r * c for r, c in self.shapes.values()]
        out = {}
        for (name, shape), part in zip(self.shapes.items(), logits.split(sizes, 1)):
            out[name] = part.view(T, *shape).masked_fill(~getattr(self, f"mask_{name}"), ref.MASKED_LOGIT)
        return out


def gumbel_noise(logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The noise F.gumbel_softmax draws, in the same order from the same generator."""
    return {k: -torch.empty_like(v).exponential_().log() for k, v in logits.items()}


def relax(logits, noise, sharpness: float = 1.0) -> dict[str, torch.Tensor]:
    return {k: torch.softmax((v + noise[k]) * sharpness, -1) for k, v in logits.items()}


# --------------------------------------------------------------------------------------------
# The model and its training step.


class FastRoap(nn.Module):
    def __init__(self):
        super().__init__()
        self.grounder = ref.Grounder()
        self.recognizer = FastRecognizer(ref.arith_heads())

    def forward(self, images, y, sharpness: float = 1.0):
        s = self.grounder(images).view(-1, INPUTS)
        logits = self.recognizer(s, y)
        return execute(relax(logits, gumbel_noise(logits), sharpness), s)


def adam(params) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=ref.LEARNING_RATE, eps=ref.ADAM_EPS, foreach=True)


def _task_part(model: FastRoap, s, y, sigma, noise, total: int):
    """The sum over this part's tasks of Eq. 4, divided by all tasks' pair count."""
    z = relax(model.recognizer(s, y), noise)
    y_hat = execute(z, s)
    return ((y - y_hat) ** 2 / (2 * sigma[:, None] ** 2)).sum() / total


class Stepper:
    """The full ROAP step with 1 worker (plain autograd) or 2 task workers."""

    def __init__(self, model: FastRoap, workers: int = 1):
        self.model, self.workers = model, workers
        self.opt = adam(model.parameters())
        self.pool = ThreadPoolExecutor(workers - 1) if workers > 1 else None
        self.rparams = list(model.recognizer.parameters())

    def __call__(self, images, y, sigma) -> float:
        model, opt = self.model, self.opt
        opt.zero_grad(set_to_none=True)
        if self.workers == 1:
            loss = ref.reconstruction_loss(y, model(images, y), sigma)
            loss.backward()
        else:
            loss = self._split(images, y, sigma)
        nn.utils.clip_grad_norm_(model.parameters(), ref.CLIP_NORM)
        opt.step()
        return float(loss)

    def _split(self, images, y, sigma) -> torch.Tensor:
        model = self.model
        s = model.grounder(images).view(-1, INPUTS)
        leaf = s.detach().requires_grad_(True)
        T = y.shape[0]
        # The noise of all tasks, drawn on this thread as the 1-worker step draws it.
        shapes = {k: (T, *v) for k, v in model.recognizer.shapes.items()}
        noise = {k: -y.new_empty(shape).exponential_().log() for k, shape in shapes.items()}
        bounds = [T * i // self.workers for i in range(self.workers + 1)]
        total = y.numel()

        def part(i: int):
            lo, hi = bounds[i], bounds[i + 1]
            loss = _task_part(model, leaf, y[lo:hi], sigma[lo:hi], {k: v[lo:hi] for k, v in noise.items()}, total)
            return loss.detach(), torch.autograd.grad(loss, self.rparams + [leaf])

        futures = [self.pool.submit(part, i) for i in range(1, self.workers)]
        results = [part(0)] + [f.result() for f in futures]
        for k, p in enumerate(self.rparams):
            p.grad = sum(r[1][k] for r in results)
        s.backward(sum(r[1][-1] for r in results))
        return sum(r[0] for r in results)


# --------------------------------------------------------------------------------------------
# The workloads (as roap_reference.run_workloads, with the fast parts).


def run_workloads(warmup: int, steps: int, profile_steps: int, workers: int):
    gen = torch.Generator().manual_seed(0)
    images, y, sigma = ref.random_batch(gen)
    s = torch.rand(PAIRS, INPUTS, generator=gen) * 0.9 + 0.1
    rows, profile = [], []

    def row(id_: str, label: str, step):
        times = ref.time_steps(step, warmup, steps)
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
                "forward": ref.time_steps(fwd, 1, profile_steps),
                "forwardBackward": ref.time_steps(fwd_bwd, 1, profile_steps),
            }
        )

    grounder = ref.Grounder()
    opt = adam(grounder.parameters())

    def grounder_step():
        loss = grounder(images).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    row("grounder", "grounder step (small CNN, 96 images 28x28)", grounder_step)
    component("grounder", lambda: grounder(images), lambda out: out.pow(2).mean())

    recognizer = FastRecognizer(ref.arith_heads())
    opt = adam(recognizer.parameters())
    weights = {k: torch.rand(*m.shape, generator=gen) for k, m in ref.arith_heads().items()}

    def recognizer_step():
        loss = ref.recognizer_loss(recognizer(s, y), weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    row("recognizer", "recognizer step (PointNet, T=500, B=32, H=128)", recognizer_step)
    component("recognizer", lambda: recognizer(s, y), lambda out: ref.recognizer_loss(out, weights))

    logits, masks = ref.program_logits(gen)
    target = torch.rand(TASKS, PAIRS, generator=gen)
    opt = adam(logits.values())

    def interpreter_step():
        loss = (execute(ref.soft_program(logits, masks), s) - target).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    row("interpreter", "interpreter step (L=30, K=4, T=500, B=32)", interpreter_step)

    def gumbel():
        masked = {k: v.masked_fill(~masks[k], ref.MASKED_LOGIT) for k, v in logits.items()}
        return relax(masked, gumbel_noise(masked))

    component("gumbel-softmax", gumbel, lambda z: sum((v * weights[k]).mean() for k, v in z.items()))
    component(
        "interpreter",
        lambda: execute(ref.soft_program(logits, masks), s),
        lambda out: (out - target).pow(2).mean(),
    )

    model = FastRoap()
    stepper = Stepper(model, workers)
    row("roap", "full ROAP step (arith, T=500, B=32)", lambda: stepper(images, y, sigma))
    component("full model", lambda: model(images, y), lambda out: ref.reconstruction_loss(y, out, sigma))
    return rows, profile


# --------------------------------------------------------------------------------------------
# The check against roap_reference.py.


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b|: the deviation relative to the tensor's scale."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def check(steps: int = 3) -> bool:
    """Same seed, inputs, initial weights and Gumbel noise: the interpreter alone, then the first
    steps of the reference and of this peer (1 and 2 workers): losses, gradients before clipping,
    weights after the steps. In float64 the two must agree to rounding (1e-10: the same math); in
    float32, the benchmark's dtype, to float32 rounding (a near-tie in a max over pairs can route a
    gradient to another pair, so the worst tensor's gradient is allowed 2e-3 of its scale)."""
    ok = True

    def verdict(what: str, dev: float, tol: float):
        nonlocal ok
        good = dev <= tol
        ok &= good
        print(f"  {what}: {dev:.2e} (tolerance {tol:.0e}) {'ok' if good else 'FAIL'}", flush=True)

    # The interpreter alone, in float64: forward and all input gradients.
    gen = torch.Generator().manual_seed(1)
    masks = ref.arith_heads()
    z = {
        k: F.softmax(torch.randn(TASKS, *m.shape, generator=gen, dtype=torch.float64).masked_fill(~m, ref.MASKED_LOGIT), -1)
        for k, m in masks.items()
    }
    s = (torch.rand(PAIRS, INPUTS, generator=gen, dtype=torch.float64) + 0.1).requires_grad_(True)
    target = torch.rand(TASKS, PAIRS, generator=gen, dtype=torch.float64)
    results = []
    for run in (ref.execute, execute):
        zz = {k: v.clone().requires_grad_(True) for k, v in z.items()}
        s.grad = None
        out = run(zz, s)
        (out - target).pow(2).mean().backward()
        results.append([out.detach()] + [zz[k].grad for k in HEADS] + [s.grad.clone()])
    for name, a, b in zip(["output", "d op", "d arg1", "d arg2", "d s"], results[1], results[0]):
        verdict(f"interpreter, float64, {name}", _rel(a, b), 1e-10)

    for dtype, tol_loss, tol_grad in ((torch.float64, 1e-10, 1e-10), (torch.float32, 1e-6, 2e-3)):
        kind = str(dtype).split(".")[-1]
        torch.manual_seed(0)
        reference = ref.Roap().to(dtype)
        images, y, sigma = (t.to(dtype) for t in ref.random_batch(torch.Generator().manual_seed(0)))
        sides: dict[str, nn.Module] = {"reference": reference}
        steppers = {}
        for workers in (1, 2):
            m = FastRoap().to(dtype)
            m.load_state_dict(reference.state_dict())
            name = f"{workers} worker{'s' if workers > 1 else ''}"
            sides[name], steppers[name] = m, Stepper(m, workers)
        ref_opt = ref.adam(reference.parameters())
        for step in range(steps):
            record = {}
            for name, m in sides.items():
                torch.manual_seed(100 + step)  # the same Gumbel noise on every side
                opt = ref_opt if name == "reference" else steppers[name].opt
                opt.zero_grad(set_to_none=True)
                if name == "reference" or steppers[name].workers == 1:
                    loss = ref.reconstruction_loss(y, m(images, y), sigma)
                    loss.backward()
                else:
                    loss = steppers[name]._split(images, y, sigma)
                grads = [p.grad.clone() for p in m.parameters()]
                nn.utils.clip_grad_norm_(m.parameters(), ref.CLIP_NORM)
                opt.step()
                record[name] = (float(loss), grads)
            base_loss, base_grads = record["reference"]
            for name in list(sides)[1:]:
                loss, grads = record[name]
                verdict(
                    f"{kind}, step {step + 1}, {name}: loss {loss:.9f} vs {base_loss:.9f}",
                    abs(loss - base_loss) / abs(base_loss),
                    tol_loss,
                )
                worst = max(_rel(a, b) for a, b in zip(grads, base_grads))
                verdict(f"{kind}, step {step + 1}, {name}: gradients (worst tensor)", worst, tol_grad)
        for name in list(sides)[1:]:
            worst = max(_rel(a, b) for a, b in zip(sides[name].parameters(), reference.parameters()))
            verdict(f"{kind}, after {steps} steps, {name}: weights (worst tensor)", worst, tol_grad)
    return ok


# --------------------------------------------------------------------------------------------
# What the process ran on.


def describe(workers: int = 1) -> dict:
    """The side's record of what it ran on."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "workers": workers,
        "blas": ref.loaded_blas(),
        "openblas": ref.openblas_info(),
        "env": ref.process_env(),
        "cpuCapability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--workers", type=int, default=1, help="task workers of the full step")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--profile-steps", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="compare with roap_reference.py and exit")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if args.check:
        print("roap_fast: agreement with roap_reference.py (same seed, inputs, weights and noise)")
        ok = check()
        print("roap_fast: check " + ("passed" if ok else "FAILED"), flush=True)
        sys.exit(0 if ok else 1)
    if args.out is None:
        parser.error("--out FILE is required (or --check)")
    torch.manual_seed(0)
    load_start = os.getloadavg()[0]
    gflops = ref.matmul_gflops()
    print(
        f"PyTorch {torch.__version__} (fast peer), {torch.get_num_threads()} threads, {args.workers} workers, "
        f"1024x1024 matmul {gflops:.0f} GFLOP/s, OpenBLAS {ref.openblas_info().get('core')}",
        flush=True,
    )
    rows, profile = run_workloads(args.warmup, args.steps, args.profile_steps, args.workers)
    result = {
        "side": "pytorch-fast",
        **describe(args.workers),
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

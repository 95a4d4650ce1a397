"""Autodiff generalises backprop: the seed's handwritten BP1-BP4 and the autodiff engine, stepped
side by side on real MNIST batches from the same weights, agree to rounding error.

    python examples/autodiff_vs_backprop.py [--steps 5] [--sizes 784,30,10]
"""
import argparse

import numpy as np


import tinygrad_lite.functional as F
from tinygrad_lite.models import DigitNet, NeuralNetwork
from tinygrad_lite import Tensor, optim
from tinygrad_lite.data import load_mnist

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=5)
parser.add_argument("--sizes", default="784,30,10")
parser.add_argument("--batch-size", type=int, default=10)
args = parser.parse_args()
sizes = [int(s) for s in args.sizes.split(",")]

data = load_mnist()
net = NeuralNetwork(sizes, seed=0)                 # handwritten backprop, float64
model = DigitNet.from_network(net)                 # the same weights as layer modules
opt = optim.SGD(model.parameters(), lr=3.0)

print(f"{'step':>4}  {'cost':>10}  {'max |∇ autodiff - ∇ BP1-4|':>28}  {'max |w - w|':>12}")
for step in range(args.steps):
    idx = slice(step * args.batch_size, (step + 1) * args.batch_size)
    X = data.train_images[idx].astype(np.float64)
    Y = F.one_hot(data.train_labels[idx], sizes[-1], np.float64)

    # autodiff: build the graph of C, then walk it backwards
    opt.zero_grad()
    cost = F.quadratic_cost(model(Tensor(X)), Y)
    cost.backward()
    auto = [m.weight.grad for m in model.linears()] + [m.bias.grad for m in model.linears()]

    # by hand: BP1-BP4 for each example (column vectors), summed, then averaged as the seed does
    batch = [(x[:, None], y[:, None]) for x, y in zip(X, Y)]
    sums_b, sums_w = net.batch_gradients(batch)
    hand = [w / len(batch) for w in sums_w] + [b.ravel() / len(batch) for b in sums_b]
    grad_gap = max(np.abs(a - h).max() for a, h in zip(auto, hand))

    opt.step()                                     # w -= η ∇w, on the module side
    net.update_mini_batch(batch, 3.0)              # the seed's update, on the handwritten side
    weight_gap = max(np.abs(m.weight.data - w).max() for m, w in zip(model.linears(), net.weights))
    print(f"{step:>4}  {cost.item():>10.6f}  {grad_gap:>28.3e}  {weight_gap:>12.3e}")
print("The two implementations compute the same gradients: differences are float64 rounding.")

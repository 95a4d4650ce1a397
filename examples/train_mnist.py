"""The seed notebook, run: a 784-30-10 sigmoid network learns handwritten digits.

    python examples/train_mnist.py              # the seed's recipe, 30 epochs (about 15 s)
    python examples/train_mnist.py --epochs 3   # a quick look

Each input is a 28x28 = 784-pixel image (0.0 white, 1.0 black); the desired output y(x) is a
10-vector with a 1 at the digit. The cost is the quadratic cost C = 1/(2n) Σ_x ||y(x) - a(x)||²,
minimised by mini-batch stochastic gradient descent; the gradient comes from backprop, here done
by the autodiff engine (models/network.py writes the same four equations out by hand).
"""
import argparse

import numpy as np

import tinygrad_lite.functional as F
from tinygrad_lite.models import DigitNet
from tinygrad_lite import Tensor, optim
from tinygrad_lite.data import load_mnist
from tinygrad_lite.train import evaluate

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--hidden", type=int, default=30)
args = parser.parse_args()

# The data: 60,000 training images (N, 784) and 10,000 test images, bundled with the package.
data = load_mnist()
targets = F.one_hot(data.train_labels)                 # y(x) for every training image

# The network of the seed: NeuralNetwork([784, 30, 10]), standard-normal weights and biases.
model = DigitNet((784, args.hidden, 10), init="standard", seed=0)
optimizer = optim.SGD(model.parameters(), lr=3.0)      # η = 3.0
batch_size = 10

rng = np.random.default_rng(0)
for epoch in range(args.epochs):
    order = rng.permutation(len(targets))              # shuffle, as the seed's random.shuffle
    for k in range(0, len(order), batch_size):
        idx = order[k:k + batch_size]
        a = model(Tensor(data.train_images[idx]))       # feedforward: a = σ(w a + b), per layer
        cost = F.quadratic_cost(a, targets[idx])        # C = 1/(2n) Σ ||y - a||²
        optimizer.zero_grad()
        cost.backward()                                 # backprop: every ∂C/∂w and ∂C/∂b
        optimizer.step()                                # w -= η ∂C/∂w, b -= η ∂C/∂b
    print(f"Epoch {epoch}: {evaluate(model, data.test_images, data.test_labels)} / 10000")

"""The seed's 784-n-10 digit network, twice: handwritten backprop (network) and layer modules
on the autodiff engine (digits)."""
from .network import NeuralNetwork
from .digits import DigitNet

__all__ = ["NeuralNetwork", "DigitNet"]

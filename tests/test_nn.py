"""Modules: parameter discovery, state_dict, init, repr."""
import numpy as np
import pytest

from tinygrad_lite import Tensor, nn


class Net(nn.Module):
    def __init__(self):
        self.first = nn.Linear(3, 4, rng=0)
        self.scale = Tensor(np.ones(4, np.float32), requires_grad=True)
        self.constant = Tensor(np.ones(4))         # not a parameter: no grad
        self.act = nn.Sigmoid()

    def forward(self, x):
        return self.act(self.first(x) * self.scale)


def test_parameters_in_definition_order_with_dotted_names():
    assert [n for n, _ in Net().named_parameters()] == ["first.weight", "first.bias", "scale"]
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(seq.parameters()) == 4 and len(seq) == 3 and isinstance(seq[1], nn.ReLU)


def test_linear_computes_x_wT_plus_b():
    lin = nn.Linear(3, 2, rng=1)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(lin(Tensor(x)).data, x @ lin.weight.data.T + lin.bias.data,
                               rtol=1e-6)
    assert lin.weight.shape == (2, 3) and lin.bias.shape == (2,)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_state_dict_is_a_copy_and_round_trips():
    a, b = Net(), Net()
    for p in b.parameters():
        p.data += 1
    sd = b.state_dict()
    sd["scale"][:] = 5          # a copy: b is unchanged
    assert np.all(b.scale.data == 2)
    a.load_state_dict(b.state_dict())
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_load_state_dict_reports_every_problem():
    net, sd = Net(), Net().state_dict()
    sd.pop("scale")
    sd["extra"] = np.zeros(1)
    sd["first.bias"] = np.zeros(7)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert "scale" in msg and "extra" in msg and "(4,)" in msg and "(7,)" in msg
    sd["first.bias"] = np.zeros(4)
    net.load_state_dict(sd, strict=False)            # missing/unexpected tolerated
    assert np.all(net.first.bias.data == 0)


@pytest.mark.parametrize("init,std", [("standard", 1.0), ("scaled", 1 / np.sqrt(400))])
def test_normal_inits(init, std):
    w = nn.Linear(400, 300, init=init, rng=0).weight.data
    assert abs(w.std() - std) < 0.02 * std and abs(w.mean()) < 0.02 * std


def test_default_init_is_pytorch_uniform_and_seeds_reproduce():
    w = nn.Linear(100, 50, rng=0).weight.data
    assert np.abs(w).max() <= 0.1 and np.abs(w).max() > 0.09
    np.testing.assert_array_equal(w, nn.Linear(100, 50, rng=0).weight.data)
    with pytest.raises(ValueError, match="init"):
        nn.Linear(2, 2, init="xavier")


def test_repr_shows_the_tree():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid()))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text
    assert "(1): Sigmoid()" in text


def test_zero_grad():
    net = Net()
    net(Tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


class Stack(nn.Module):
    def __init__(self, widths):
        self.layers = nn.ModuleList(nn.Linear(a, b, rng=0) for a, b in zip(widths, widths[1:]))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).sigmoid()
        return x


def test_module_list_registers_its_layers_with_pytorch_names():
    net = Stack([2, 3, 1])
    assert list(net.state_dict()) == ["layers.0.weight", "layers.0.bias",
                                      "layers.1.weight", "layers.1.bias"]
    net.layers.append(nn.Linear(1, 1))
    assert len(net.layers) == 3 and len(net.parameters()) == 6
    assert isinstance(net.layers[-1], nn.Linear) and "(layers): ModuleList" in repr(net)
    net(Tensor(np.ones((4, 2), np.float32))).sum().backward()
    assert net.layers[0].weight.grad is not None
    with pytest.raises(TypeError, match="item 3 is a int"):
        net.layers.append(3)


@pytest.mark.parametrize("value", [[nn.Linear(2, 2)], (nn.Sigmoid(),),
                                   [Tensor(np.ones(2), requires_grad=True)]])
def test_a_plain_list_of_layers_is_refused_naming_module_list(value):
    with pytest.raises(TypeError, match=r"Net\.layers: .*not registered.*nn\.ModuleList"):
        Net().layers = value
    net = Net()
    net.sizes, net.names = [3, 4], [Tensor(np.ones(2))]     # plain data stays allowed
    assert net.sizes == [3, 4] and len(net.parameters()) == 3

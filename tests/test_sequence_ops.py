"""The ops and training tools of sequence models: embedding, layer norm, attention, masks,
RNNs, AdamW with parameter groups, gradient clipping and lr schedules. Against PyTorch in
float64 where it is installed; hostile inputs; and a tiny attention model that must learn what
an untrained one cannot."""
import math

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, nn, optim
from tinygrad_lite.errors import DimError, ShapeError

TOL = dict(rtol=1e-10, atol=1e-10)


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch is not installed: parity skipped")


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def pair(a, torch):
    """The same float64 leaf in both libraries."""
    return Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)


def close(ours, theirs):
    ours = ours.numpy() if isinstance(ours, Tensor) else np.asarray(ours)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), **TOL)


# --- the ops against PyTorch -----------------------------------------------------------------

def test_embedding_padding_idx_and_repeated_indices_equal_pytorch(torch):
    idx = np.array([[1, 4, 1, 1], [0, 1, 3, 4]])
    for pad in (None, 1, -1):
        w, tw = pair(rand(5, 3), torch)
        g = rand(2, 4, 3, seed=1)
        out, tout = F.embedding(idx, w, padding_idx=pad), \
            torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=pad)
        close(out, tout)
        (out * Tensor(g)).sum().backward()
        (tout * torch.tensor(g)).sum().backward()
        close(w.grad, tw.grad)


def test_layer_norm_modules_equal_pytorch_with_and_without_bias(torch):
    x = rand(3, 4, 5)
    for kw in (dict(), dict(bias=False), dict(elementwise_affine=False)):
        ours, theirs = nn.LayerNorm((4, 5), dtype=np.float64, **kw), \
            torch.nn.LayerNorm((4, 5), dtype=torch.float64, **kw)
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in
                                                          theirs.named_parameters()]
        for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            p.data[...] = rand(*p.shape, seed=2)
            tp.data[...] = torch.tensor(p.data)
        xo, xt = pair(x, torch)
        out, tout = ours(xo), theirs(xt)
        close(out, tout)
        (out ** 3).sum().backward()
        (tout ** 3).sum().backward()
        close(xo.grad, xt.grad)
        for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            close(p.grad, tp.grad)


@pytest.mark.parametrize("case", ["bool", "float", "causal", "scale", "dead_row", "heads"])
def test_attention_equals_pytorch(torch, case):
    q, k, v = rand(2, 3, 4, 8, seed=1), rand(2, 3, 6, 8, seed=2), rand(2, 3, 6, 5, seed=3)
    mask = np.random.default_rng(4).random((4, 6)) > 0.4
    kw = {"bool": dict(attn_mask=mask), "float": dict(attn_mask=rand(1, 4, 6, seed=5)),
          "causal": dict(is_causal=True), "scale": dict(scale=0.05),
          "dead_row": dict(attn_mask=np.tile([[False] * 6, [True] * 6], (2, 1))),
          "heads": dict()}[case]
    if case == "heads":  # one key/value head shared by all query heads, broadcast
        k, v = k[:, :1], v[:, :1]
    (qo, qt), (ko, kt), (vo, vt) = pair(q, torch), pair(k, torch), pair(v, torch)
    tkw = {n: torch.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
    out = F.scaled_dot_product_attention(qo, ko, vo, **kw)
    tout = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **tkw)
    close(out, tout)
    g = rand(*out.shape, seed=6)
    (out * Tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    for a, b in ((qo, qt), (ko, kt), (vo, vt)):
        close(a.grad, b.grad)


def test_a_causal_query_never_sees_later_keys():
    q, k = Tensor(rand(1, 5, 4)), Tensor(rand(1, 5, 4, seed=1))
    v = Tensor(rand(1, 5, 3, seed=2), requires_grad=True)
    F.scaled_dot_product_attention(q, k, v, is_causal=True)[0, 2].sum().backward()
    assert np.all(v.grad[0, 3:] == 0) and np.all(v.grad[0, :3] != 0)


def test_masks_triangles_and_softmax_of_a_dead_row_equal_pytorch(torch):
    a = rand(2, 4, 5)
    for d in (-2, 0, 1, 3):
        close(tl.tril(Tensor(a), d), torch.tril(torch.tensor(a), d))
        close(Tensor(a).triu(diagonal=d), torch.tensor(a).triu(diagonal=d))
    m = np.array([[True, False, True, False, True]])
    close(Tensor(a).masked_fill(m, -7.0), torch.tensor(a).masked_fill(torch.tensor(m), -7.0))
    x = np.array([[0.5, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    close(F.softmax(Tensor(x), dim=1), torch.softmax(torch.tensor(x), dim=1))
    assert np.isnan(F.softmax(Tensor(x), dim=1).numpy()[1]).all()  # as PyTorch's: NaN


# --- RNNs ------------------------------------------------------------------------------------

def copy_weights(ours, theirs, torch):
    names = [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters()] == names
    for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        with torch.no_grad():
            tp.copy_(torch.tensor(p.data))


@pytest.mark.parametrize("kw", [dict(), dict(nonlinearity="relu", bias=False),
                                dict(num_layers=2, batch_first=True)])
def test_rnn_outputs_and_gradients_through_time_equal_pytorch(torch, kw):
    ours = nn.RNN(3, 4, dtype=np.float64, rng=0, **kw)
    theirs = torch.nn.RNN(3, 4, dtype=torch.float64, **kw)
    copy_weights(ours, theirs, torch)
    x = rand(2, 6, 3) if ours.batch_first else rand(6, 2, 3)
    h0 = rand(ours.num_layers, 2, 4, seed=1)
    (xo, xt), (ho, ht) = pair(x, torch), pair(h0, torch)
    (out, hn), (tout, thn) = ours(xo, ho), theirs(xt, ht)
    close(out, tout)
    close(hn, thn)
    ((out ** 2).sum() + hn.sum()).backward()
    ((tout ** 2).sum() + thn.sum()).backward()
    close(xo.grad, xt.grad)
    close(ho.grad, ht.grad)
    for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        close(p.grad, tp.grad)


def test_rnn_cell_and_unbatched_rnn_equal_pytorch(torch):
    cell, tcell = nn.RNNCell(3, 4, dtype=np.float64), torch.nn.RNNCell(3, 4, dtype=torch.float64)
    copy_weights(cell, tcell, torch)
    x = rand(2, 3)
    close(cell(Tensor(x)), tcell(torch.tensor(x)))
    close(cell(Tensor(x[0])), tcell(torch.tensor(x[0])))
    rnn, trnn = nn.RNN(3, 4, dtype=np.float64), torch.nn.RNN(3, 4, dtype=torch.float64)
    copy_weights(rnn, trnn, torch)
    for a, b in zip(rnn(Tensor(rand(5, 3))), trnn(torch.tensor(rand(5, 3)))):
        close(a, b)


def test_rnn_init_is_uniform_within_one_over_root_hidden():
    rnn = nn.RNN(10, 25, rng=0)
    values = np.concatenate([p.numpy().ravel() for p in rnn.parameters()])
    assert np.abs(values).max() <= 1 / 5 and np.abs(values).max() > 0.19


# --- embedding, layer norm: modules and hostile inputs ---------------------------------------

def test_embedding_module_draws_standard_normal_and_zeroes_the_padding_row():
    emb = nn.Embedding(400, 50, padding_idx=3, rng=0)
    w = emb.weight.numpy()
    assert np.all(w[3] == 0)
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    assert emb(np.array([3, 5])).shape == (2, 50)


@pytest.mark.parametrize("call, error, words", [
    (lambda w: F.embedding(np.array([0, 5]), w), DimError, "index 5"),
    (lambda w: F.embedding(np.array([[1, -1]]), w), DimError, "index -1"),
    (lambda w: F.embedding(np.array([0.0, 1.0]), w), TypeError, "integer"),
    (lambda w: F.embedding(np.array([0]), w, padding_idx=7), DimError, "padding_idx"),
    (lambda w: F.layer_norm(Tensor(rand(2, 3)), (2,)), ShapeError, "normalized_shape"),
    (lambda w: F.layer_norm(Tensor(rand(2, 3)), 3, weight=w), ShapeError, "weight"),
    (lambda w: Tensor(rand(2, 3)).masked_fill(np.ones((2, 3)), 0.0), TypeError, "bool"),
    (lambda w: Tensor(rand(2, 3)).masked_fill(np.ones((4, 3), bool), 0.0), ShapeError,
     "broadcast"),
    (lambda w: Tensor(rand(3)).tril(), ShapeError, "2 dimensions"),
], ids=["index_too_big", "negative_index", "float_index", "bad_padding_idx", "ln_shape",
        "ln_weight", "mask_dtype", "mask_shape", "tril_1d"])
def test_hostile_inputs_to_embedding_layer_norm_and_masks(call, error, words):
    with pytest.raises(error, match=words):
        call(Tensor(rand(5, 3), requires_grad=True))


@pytest.mark.parametrize("kw, error, words", [
    (dict(attn_mask=np.ones((4, 5), bool)), ShapeError, "attn_mask of shape"),
    (dict(attn_mask=np.ones((4, 6), np.int64)), TypeError, "bool or"),
    (dict(attn_mask=np.ones((4, 6), bool), is_causal=True), RuntimeError, "not both"),
    (dict(dropout_p=1.5), ValueError, "dropout_p"),
])
def test_hostile_inputs_to_attention(kw, error, words):
    q, k = Tensor(rand(2, 4, 8)), Tensor(rand(2, 6, 8))
    with pytest.raises(error, match=words):
        F.scaled_dot_product_attention(q, k, k, **kw)


def test_attention_refuses_operands_that_do_not_fit():
    q = Tensor(rand(2, 4, 8))
    with pytest.raises(ShapeError, match="do not fit"):
        F.scaled_dot_product_attention(q, Tensor(rand(2, 6, 7)), Tensor(rand(2, 6, 7)))
    with pytest.raises(TypeError, match="share a dtype"):
        F.scaled_dot_product_attention(q, q.float(), q)
    with pytest.raises(ShapeError, match="broadcast"):
        F.scaled_dot_product_attention(q, Tensor(rand(3, 6, 8)), Tensor(rand(3, 6, 8)))


def test_attention_dropout_draws_from_the_library_generator():
    q = Tensor(rand(2, 4, 8))
    tl.manual_seed(0)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).numpy()
    tl.manual_seed(0)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).numpy()
    c = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(F.scaled_dot_product_attention(q, q, q, dropout_p=1.0).numpy() == 0)


def test_a_captured_step_checks_each_batchs_indices_and_redraws_dropout():
    emb = nn.Embedding(5, 4, rng=0)
    step = tl.capture(lambda idx: F.dropout(emb(idx), 0.5).sum())
    first = step(np.array([0, 1, 2]))
    assert step(np.array([0, 1, 2])).item() != first.item()  # dropout drawn again
    with pytest.raises(DimError, match="index 9"):
        step(np.array([0, 9, 2]))


# --- optimizers, clipping, schedules ----------------------------------------------------------

def two_groups(lib, arrays):
    """nanoGPT's split: 2-D weights decay, vectors (biases, layer norms) do not."""
    mats = [a for a in arrays if a.ndim >= 2]
    vecs = [a for a in arrays if a.ndim < 2]
    return [{"params": mats, "weight_decay": 0.1}, {"params": vecs, "weight_decay": 0.0}]


def losses(lib_tensors, power):
    return sum(((t * t).sum() if i % 2 else (t ** 3).sum()) * power
               for i, t in enumerate(lib_tensors))


@pytest.mark.parametrize("name, kw", [
    ("AdamW", dict(lr=0.01)), ("AdamW", dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.3)),
    ("AdamW", dict(lr=0.01, groups=True)), ("Adam", dict(lr=0.01, weight_decay=0.1, groups=True)),
    ("SGD", dict(lr=0.01, momentum=0.9, groups=True))])
def test_optimizer_trajectories_equal_pytorch_over_20_steps(torch, name, kw):
    kw = dict(kw)
    groups = kw.pop("groups", False)
    arrays = [rand(3, 4, seed=1), rand(4, seed=2), rand(2, 3, seed=3)]
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    opt = getattr(optim, name)(two_groups(tl, ours) if groups else ours, **kw)
    topt = getattr(torch.optim, name)(two_groups(torch, theirs) if groups else theirs, **kw)
    for _ in range(20):
        for o, ps in ((opt, ours), (topt, theirs)):
            o.zero_grad()
            losses(ps, 0.1).backward()
            o.step()
    for p, tp in zip(ours, theirs):
        close(p, tp)


def test_optimizer_groups_refuse_a_parameter_in_two_groups_and_bad_settings():
    w = Tensor(rand(2, 2), requires_grad=True)
    with pytest.raises(ValueError, match="twice"):
        optim.AdamW([{"params": [w]}, {"params": [w], "weight_decay": 0}])
    with pytest.raises(ValueError, match="weight_decay"):
        optim.AdamW([{"params": [w], "weight_decay": -1}])
    opt = optim.AdamW([{"params": [w], "lr": 0.5}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["weight_decay"] == 1e-2


@pytest.mark.parametrize("norm_type, max_norm", [(2.0, 1.0), (1.0, 0.5), (math.inf, 0.3),
                                                 (2.0, 100.0)])
def test_clip_grad_norm_equals_pytorch(torch, norm_type, max_norm):
    arrays = [rand(3, 4, seed=1), rand(4, seed=2)]
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    losses(ours, 1.0).backward()
    losses(theirs, 1.0).backward()
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, Tensor) and total.ndim == 0
    close(total, ttotal)
    for p, tp in zip(ours, theirs):
        close(p.grad, tp.grad)


def test_clip_grad_value_equals_pytorch_and_norm_checks_its_arguments(torch):
    a = rand(3, 4, seed=1)
    w, tw = pair(a, torch)
    (w ** 3).sum().backward()
    (tw ** 3).sum().backward()
    nn.utils.clip_grad_value_([w], 0.7)
    torch.nn.utils.clip_grad_value_([tw], 0.7)
    close(w.grad, tw.grad)
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_([w], 1.0, norm_type=0)
    w.grad[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="not finite"):
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)


def nanogpt_lr(it, lr=6e-4, warmup=10, decay=40, min_lr=6e-5):
    """nanoGPT's get_lr: linear warmup, then cosine decay to min_lr."""
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay:
        return min_lr
    ratio = (it - warmup) / (decay - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


SCHEDULES = {
    "lambda": lambda S, o: S.LambdaLR(o, lambda e: 0.95 ** e),
    "lambda_per_group": lambda S, o: S.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "linear": lambda S, o: S.LinearLR(o, start_factor=0.1, end_factor=0.8, total_iters=7),
    "cosine": lambda S, o: S.CosineAnnealingLR(o, T_max=9, eta_min=1e-3),
    "warmup_cosine": lambda S, o: S.SequentialLR(o, [
        S.LinearLR(o, 0.01, 1.0, total_iters=5), S.CosineAnnealingLR(o, 20, eta_min=1e-4)],
        milestones=[5]),
    "nanogpt": lambda S, o: S.LambdaLR(o, lambda it: nanogpt_lr(it) / 6e-4),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_lr_schedules_equal_pytorchs_sequences(torch, name):
    w, tw = Tensor(rand(2), requires_grad=True), torch.tensor(rand(2), requires_grad=True)
    b, tb = Tensor(rand(2), requires_grad=True), torch.tensor(rand(2), requires_grad=True)
    opt = optim.AdamW([{"params": [w]}, {"params": [b], "lr": 3e-4}], lr=6e-4)
    topt = torch.optim.AdamW([{"params": [tw]}, {"params": [tb], "lr": 3e-4}], lr=6e-4)
    sched = SCHEDULES[name](optim.lr_scheduler, opt)
    tsched = SCHEDULES[name](torch.optim.lr_scheduler, topt)
    ours, theirs = [], []
    for _ in range(45):
        ours.append([g["lr"] for g in opt.param_groups])
        theirs.append([g["lr"] for g in topt.param_groups])
        topt.step()
        sched.step()
        tsched.step()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)


def test_the_nanogpt_recipe_gives_nanogpts_lr_at_every_step():
    opt = optim.AdamW([Tensor(rand(2), requires_grad=True)], lr=6e-4)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda it: nanogpt_lr(it) / 6e-4)
    for it in range(50):
        assert opt.lr == pytest.approx(nanogpt_lr(it), rel=1e-12)
        sched.step()


def test_a_schedule_takes_effect_in_a_captured_step():
    """The step is replayed as recorded kernels; AdamW reads each group's lr afresh."""
    def run(captured):
        w = Tensor(rand(3, 2), requires_grad=True)
        opt = optim.AdamW([{"params": [w], "weight_decay": 0.1}], lr=0.1)
        sched = optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 ** e)

        def step(x):
            opt.zero_grad()
            loss = ((x @ w) ** 2).sum()
            loss.backward()
            nn.utils.clip_grad_norm_([w], 1.0)
            opt.step()
            return loss
        f = tl.capture(step) if captured else step
        for i in range(6):
            f(Tensor(rand(4, 3, seed=i)))
            sched.step()
        return w.numpy()
    np.testing.assert_array_equal(run(True), run(False))
    assert not np.allclose(run(False), rand(3, 2))


# --- a tiny attention model learns what an untrained one cannot -------------------------------

class TinyAttention(nn.Module):
    """Embedding + positions, layer norm, one causal self-attention head, layer norm, head."""

    def __init__(self, vocab=8, block=8, width=32):
        self.tok, self.pos = nn.Embedding(vocab, width, rng=0), nn.Embedding(block, width, rng=1)
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width, rng=2), nn.Linear(width, width, rng=3)
        self.head = nn.Linear(width, vocab, rng=4)

    def forward(self, idx):
        n, t = idx.shape
        x = self.tok(idx) + self.pos(tl.arange(t))
        q, k, v = (self.qkv(self.ln1(x)).reshape(n, t, 3, -1).permute(2, 0, 1, 3))
        x = x + self.proj(F.scaled_dot_product_attention(q, k, v, is_causal=True))
        return self.head(self.ln2(x))


def copy_loss(model, idx):
    """Each position must name the token one before it (the first has no answer: skipped)."""
    logits = model(idx)[:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), idx[:, :-1].reshape(-1))


def test_a_tiny_attention_model_learns_to_copy_the_previous_token():
    """Without attention the previous token is unknowable (loss ln 8 ≈ 2.08): the floor of 0.5
    needs the model to attend one step back."""
    tl.manual_seed(0)
    rng = np.random.default_rng(0)
    model = TinyAttention()
    test = rng.integers(0, 8, (64, 8))
    floor = 0.5
    assert copy_loss(model, test).item() > floor  # the untrained model misses it
    decay = [p for p in model.parameters() if p.ndim == 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    opt = optim.AdamW([{"params": decay, "weight_decay": 0.1},
                       {"params": rest, "weight_decay": 0.0}], lr=1e-2)
    for _ in range(50):
        opt.zero_grad()
        copy_loss(model, rng.integers(0, 8, (32, 8))).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    assert copy_loss(model, test).item() < floor


def test_a_captured_attention_training_step_replays_bit_for_bit():
    def train(captured):
        tl.manual_seed(0)
        model = TinyAttention()
        opt = optim.AdamW(model.parameters(), lr=1e-2)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)

        def step(idx):
            opt.zero_grad()
            loss = copy_loss(model, idx)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss
        f = tl.capture(step) if captured else step
        rng = np.random.default_rng(1)
        for _ in range(4):
            f(Tensor(rng.integers(0, 8, (16, 8))))
            sched.step()
        return [p.numpy().copy() for p in model.parameters()]
    for a, b in zip(train(True), train(False)):
        np.testing.assert_array_equal(a, b)

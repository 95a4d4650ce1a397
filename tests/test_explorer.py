"""The explorer page: its data (gradients, orders, summaries) checked against the engine, the
HTML checked to be self-contained, and the page driven in a real browser (Chromium through
Playwright; skipped, saying so, where either is missing)."""
import base64
import json
import os
import re
import time
from html.parser import HTMLParser

import numpy as np
import pytest

import tinygrad_lite.functional as F
from tinygrad_lite import Tensor, nn, viz
from tinygrad_lite.viz import explorer
from tinygrad_lite.models import DigitNet
from tinygrad_lite.models.chapter6 import ConvNet
from tinygrad_lite.functional import log_likelihood

CHROMIUM = "/usr/bin/chromium"
VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "source", "wbr"}


def digit_cost(seed=0):
    """The seed's network on ten random images: (cost, named parameters, model)."""
    model = DigitNet((784, 30, 10), seed=seed)
    rng = np.random.default_rng(seed)
    x = Tensor(rng.random((10, 784)).astype(np.float32))
    cost = F.quadratic_cost(model(x), F.one_hot(rng.integers(0, 10, 10)))
    return cost, dict(model.named_parameters()), model


def conv_cost():
    model = ConvNet(conv=(4,), hidden=(16,), seed=0)
    x = Tensor(np.random.default_rng(1).random((3, 784)).astype(np.float32))
    cost = log_likelihood(model(x), F.one_hot([1, 2, 3]))
    return cost, dict(model.named_parameters()), model


def deep_cost(layers=100):
    """A chain of `layers` Linear + Sigmoid pairs under MSE: 2 * layers + 1 ops."""
    mods = []
    for k in range(layers):
        mods += [nn.Linear(16, 16, rng=k), nn.Sigmoid()]
    model = nn.Sequential(*mods)
    x = Tensor(np.random.default_rng(0).random((8, 16)).astype(np.float32))
    return F.mse_loss(model(x), Tensor(np.zeros((8, 16), np.float32))), model


def branches():
    """Ops made in a known order, with independent branches (so a depth-first order differs
    from the engine's): Exp, Tanh, Mul, Add, Sum. Returns (cost, a)."""
    a = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    e = a.exp()
    t = a.tanh()
    m = t * 3.0
    return (e + m).sum(), a


def embedded(page):
    return json.loads(re.search(r'<script type="application/json" class="tgl-data">(.*?)'
                                r"</script>", page, re.S).group(1).replace("<\\/", "</"))


# --- checkers of a page, and tests that they can fail ------------------------------------------

class Structure(HTMLParser):
    """Records unbalanced tags and any external reference (src/href/url() to a network)."""

    def __init__(self):
        super().__init__()
        self.stack, self.problems, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action") and value and \
                    re.match(r"\s*(https?:)?//", value):
                self.problems.append(f"external {name}: {value}")
        if tag == "link":
            self.problems.append("a <link> element")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if re.search(r"(@import|url\()\s*['\"]?(https?:)?//", data):
            self.problems.append("a style import or url() from the network")


def page_problems(page):
    s = Structure()
    s.feed(page)
    s.close()
    problems = s.problems + [f"<{t}> left open" for t in s.stack]
    for tag in ("html", "head", "body", "title"):
        if s.tags.count(tag) != 1:
            problems.append(f"{s.tags.count(tag)} <{tag}> elements")
    return problems


def test_the_page_checker_flags_external_resources_and_broken_structure():
    page = viz.to_html(*digit_cost()[:2])
    assert page_problems(page) == []
    assert page_problems(page.replace("<head>", '<head><script src="https://cdn.x/a.js">'
                                                "</script>"))
    assert page_problems(page.replace("<head>", '<head><link rel="stylesheet" href="a.css">'))
    assert page_problems(page.replace("<style>", "<style>@import url('http://x/f.css');", 1))
    assert page_problems(page.replace("</body>", "<div></body>"))


@pytest.mark.parametrize("make", [digit_cost, conv_cost])
def test_to_html_is_self_contained_and_well_formed(make):
    cost, params, _ = make()
    page = explorer.to_html(cost, params)
    assert page_problems(page) == []
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    data = embedded(page)
    assert len(data["ops"]) == len(explorer.walk(cost).ops) and data["backward"]
    assert {t["name"] for t in data["tensors"]} >= set(params)


def test_gradients_are_the_engines():
    for make in (digit_cost, conv_cost):
        cost, params, model = make()
        w = explorer.walk(cost)
        grads, _ = explorer.gradients(w)
        cost.backward()
        index = {id(t): k for k, t in enumerate(w.tensors)}
        for name, p in params.items():
            np.testing.assert_allclose(grads[index[id(p)]], p.grad, rtol=1e-5, atol=1e-7,
                                       err_msg=name)


def test_backward_order_is_the_engines_and_forward_its_reverse():
    cost, a = branches()
    w = explorer.walk(cost)
    names = [o.op.__name__ for o in w.backward_order()]
    assert names == ["Sum", "Add", "Mul", "Tanh", "Exp"]   # reverse creation order
    assert [o.op.__name__ for o in w.forward_order()] == names[::-1]
    grads, _ = explorer.gradients(w)
    cost.backward()
    np.testing.assert_allclose(grads[[id(t) for t in w.tensors].index(id(a))], a.grad)


def test_a_freed_graph_is_refused():
    cost, _ = branches()
    cost.backward()
    with pytest.raises(ValueError, match="retain_graph"):
        explorer.to_html(cost)


def test_bp_notes_on_the_digit_network():
    data = embedded(explorer.to_html(*digit_cost()[:2]))
    ops = {o["id"]: o for o in data["ops"]}
    order = [ops[i] for i in data["backward"]]
    assert [o["name"] for o in order] == ["SquaredError", "Sigmoid", "Affine", "Sigmoid",
                                          "Affine"]
    assert order[0]["rules"][0].startswith("BP1") and order[1]["rules"][0].startswith("BP1")
    assert order[3]["rules"][0].startswith("BP2")
    assert [r[:3] for r in order[2]["rules"]] == ["BP2", "BP4", "BP3"]


def test_repeated_blocks_are_found_and_drawn_as_one_node():
    cost, model = deep_cost(10)
    w = explorer.walk(cost)
    run = explorer.repeated_run(w)
    assert len(run) == 10 and all([o.op.__name__ for o in b] == ["Affine", "Sigmoid"]
                                  for b in run)
    data = explorer.page_data(cost, dict(model.named_parameters()))
    assert len(data["inside"]) == 16 and set(data["inside"].values()) == {"b0"}
    assert data["collapsed"]["labels"]["b0"] == ["8 x [Affine, Sigmoid]"]
    assert len(data["collapsed"]["nodes"]) < len(data["layout"]["nodes"]) // 3
    assert explorer.repeated_run(explorer.walk(digit_cost()[0])) == []   # two blocks: too few
    assert "collapsed" not in explorer.page_data(digit_cost()[0])


def test_summary_numbers_small_arrays_and_heat_maps_big_ones():
    s = explorer.summary(np.arange(6.0).reshape(2, 3))
    assert s["values"] == [0, 1, 2, 3, 4, 5] and s["shape"] == [2, 3]
    assert s["norm"] == pytest.approx(np.linalg.norm(np.arange(6.0)), rel=1e-6)
    big = np.random.default_rng(0).normal(size=(100, 784))
    s = explorer.summary(big)
    hm = s["heatmap"]
    assert "values" not in s and (hm["rows"], hm["cols"]) == (32, 32)
    q = np.frombuffer(base64.b64decode(hm["data"]), np.int8).reshape(32, 32)
    first = big[:3, :24].mean()                      # the first block: rows 0-2, columns 0-23
    assert q[0, 0] / 127 * hm["scale"] == pytest.approx(first, abs=hm["scale"] / 127)
    assert explorer.summary(np.zeros((2, 3, 5, 5)))["slice"] == "[0, 0, :, :]"


def test_write_html_and_the_notebook_object(tmp_path):
    cost, params, _ = digit_cost()
    line = explorer.write_html(str(tmp_path / "g.html"), cost, params)
    assert "g.html" in line and (tmp_path / "g.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError):
        explorer.write_html(str(tmp_path), cost, params)   # a directory
    shown = explorer.explore(cost, params)._repr_html_()
    again = explorer.explore(cost, params)._repr_html_()
    assert shown.startswith('<div class="tgl-explorer tgl-inline"') and "<html" not in shown
    assert re.search(r'id="([\w-]+)"', shown).group(1) != re.search(r'id="([\w-]+)"',
                                                                    again).group(1)


# --- in a browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed: pip install playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no browser at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Opened:
    """A page opened offline from a file; records network requests and console errors."""

    def __init__(self, browser, path):
        self.context = browser.new_context(offline=True, viewport={"width": 1366,
                                                                    "height": 768})
        self.requests, self.errors = [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: None if r.url.startswith("file://") else
                     self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        start = time.perf_counter()
        self.page.goto("file://" + os.path.abspath(path), wait_until="load")
        self.seconds = time.perf_counter() - start

    def _route(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def status(self):
        return self.page.locator(".tgl-status").get_attribute("data-op")

    def close(self):
        self.context.close()


def write(tmp_path, name, cost, params=None):
    path = str(tmp_path / name)
    explorer.write_html(path, cost, params)
    return path


def test_the_browser_checks_can_fail(browser, tmp_path):
    path = tmp_path / "bad.html"
    path.write_text('<!DOCTYPE html><html><head><title>x</title></head><body>'
                    '<img src="https://example.invalid/a.png"><script>throw new Error("boom")'
                    "</script></body></html>")
    opened = Opened(browser, str(path))
    assert opened.requests and any("boom" in e for e in opened.errors)
    opened.close()


@pytest.mark.parametrize("make", [digit_cost, conv_cost])
def test_the_page_loads_offline_without_errors(browser, tmp_path, make):
    cost, params, _ = make()
    opened = Opened(browser, write(tmp_path, "graph.html", cost, params))
    assert opened.page.locator(".tgl-explorer").get_attribute("data-ready") == "1"
    assert opened.page.locator("g.tgl-node").count() == len(embedded(
        open(tmp_path / "graph.html").read())["layout"]["nodes"])
    opened.page.keyboard.press("ArrowLeft")                   # the page has the focus
    opened.page.keyboard.press("ArrowLeft")
    assert opened.page.locator(".tgl-status").get_attribute("data-index") == "1"
    opened.page.locator("g.tgl-node").first.focus()
    opened.page.keyboard.press("Enter")
    assert opened.page.locator('[data-field="shape"]').count() == 1
    assert opened.requests == [] and opened.errors == []
    opened.close()


def test_clicking_a_parameter_shows_the_engines_shape_and_gradient_norm(browser, tmp_path):
    cost, params, model = digit_cost()
    path = write(tmp_path, "digits.html", cost, params)
    cost.backward()
    opened = Opened(browser, path)
    data = embedded(open(path).read())
    for name in ("0.weight", "2.bias"):
        tid = next(t["id"] for t in data["tensors"] if t["name"] == name)
        opened.page.click(f'g.tgl-node[data-id="{tid}"]')
        shape = opened.page.locator('[data-field="shape"]').inner_text()
        norm = float(opened.page.locator('[data-field="grad-norm"]').inner_text())
        assert shape.startswith(f"shape {params[name].shape}, dtype float32")
        assert norm == pytest.approx(np.linalg.norm(params[name].grad), rel=1e-5)
    opened.close()


def test_stepping_backward_visits_every_op_once_in_the_engines_order(browser, tmp_path):
    cost, _ = branches()
    path = write(tmp_path, "branches.html", cost)
    names = {o["id"]: o["name"] for o in embedded(open(path).read())["ops"]}
    opened = Opened(browser, path)
    seen = []
    for _ in range(len(names)):
        opened.page.keyboard.press("ArrowLeft") if seen else opened.page.click(".tgl-back")
        seen.append(opened.status())
    assert [names[i] for i in seen] == ["Sum", "Add", "Mul", "Tanh", "Exp"]
    assert len(set(seen)) == len(names)
    opened.page.click(".tgl-back")
    assert opened.status() == ""                               # past the last op: done
    assert "done" in opened.page.locator(".tgl-status").inner_text()
    opened.page.click(".tgl-fwd")
    assert names[opened.status()] == "Exp"                     # forward starts at the start
    assert opened.errors == []
    opened.close()


def test_a_200_op_page_loads_in_under_a_second(browser, tmp_path):
    cost, model = deep_cost(100)
    path = write(tmp_path, "deep.html", cost, dict(model.named_parameters()))
    assert len(embedded(open(path).read())["ops"]) == 201
    loads, opened = [], None      # the best of up to three loads: a busy machine is slower
    while len(loads) < 3 and (not loads or min(loads) >= 1000):
        if opened is not None:
            opened.close()
        opened = Opened(browser, path)
        assert opened.page.locator(".tgl-explorer").get_attribute("data-ready") == "1"
        loads.append(opened.page.evaluate(
            "performance.getEntriesByType('navigation')[0].loadEventEnd"))
    assert min(loads) < 1000, loads                       # ms from navigation to the load event
    full = opened.page.locator("g.tgl-node").count()
    opened.page.click(".tgl-collapse")                          # 98 blocks drawn as one node
    assert opened.page.locator("g.tgl-node").count() < full // 10
    for _ in range(8):
        opened.page.keyboard.press("ArrowLeft")
    assert opened.page.locator("g.tgl-current").get_attribute("data-id") == "b0"
    opened.page.click(".tgl-collapse")
    assert opened.page.locator("g.tgl-node").count() == full
    assert opened.page.locator("g.tgl-current").get_attribute("data-id") == opened.status()
    assert opened.errors == [] and opened.requests == []
    opened.close()

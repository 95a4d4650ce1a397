"""Pictures of the computation graph behind a tensor: Graphviz DOT text (no dependency),
a matplotlib drawing (no Graphviz), and an explorer page (one self-contained HTML file).

    print(to_dot(cost, params=dict(model.named_parameters())))
    draw(cost, params=dict(model.named_parameters()))          # a matplotlib Figure
    to_html(cost, params=dict(model.named_parameters()))       # the explorer page's HTML

graph.py holds the graph model, its layered layout and the DOT and matplotlib output;
explorer.py the page, drawn with the same layout.
"""
from .explorer import explore, to_html, write_html  # noqa: F401
from .graph import (DRAW_FORMATS, FORMATS, PARAM_COLOR, ROOT_COLOR, Graph,  # noqa: F401
                    GraphNode, Layout, RenderError, available, draw, render, to_dot)

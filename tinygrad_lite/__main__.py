try:
    from .cli import main
except ModuleNotFoundError as e:  # the checkout's folder, not the installed package, was found
    if e.name != "tinygrad_lite.models":
        raise
    raise SystemExit(
        "tinygrad-lite: tinygrad_lite.models was not found: `python -m tinygrad_lite` run in a "
        "checkout's top folder imports the checkout's tinygrad_lite, whose models/ live beside "
        "it; run .venv/bin/tinygrad-lite instead, or install the checkout with pip install -e .")

raise SystemExit(main())

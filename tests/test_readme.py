"""The README's code runs, and its test command is the one .ci/run runs."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def test_readme_python_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", read("README.md"), re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    assert "(30, 784)" in capsys.readouterr().out


def test_ci_runs_the_readme_test_command():
    commands = re.search(r"```\n(.*?)```", read("README.md"), re.S).group(1).splitlines()
    assert commands[1] == ".venv/bin/pytest"
    assert read(".ci/run").strip().splitlines()[-1] == commands[1]


def test_write_your_own_op_example_runs_and_catches_the_wrong_gradient(capsys):
    section = read("README.md").split("## Write your own op and gradcheck it")[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.split() == ["True", "False", "True"]

"""Calls read the same everywhere: past three, arguments are passed by name."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "deepfake_audio"
MAX_POSITIONAL = 3  # not counting self / cls


def positional_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    arguments = function.args.posonlyargs + function.args.args
    return [argument.arg for argument in arguments if argument.arg not in ("self", "cls")]


def test_functions_take_at_most_three_positional_parameters():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}({', '.join(positional_parameters(node))})"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and len(positional_parameters(node)) > MAX_POSITIONAL
    ]
    assert offenders == [], "make the parameters after the third keyword-only (*):\n" + "\n".join(offenders)

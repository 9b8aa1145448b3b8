"""The issue's table of gradients: f, wrt, the printed result, and the assumptions it needs.

Shared by tests/test_grad_table.py and benchmarks/grad_speed.py.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    f: str
    wrt: str
    expected: str
    assume: tuple = ()


TABLE = [
    Row("tr(A @ X @ B)", "X", "A.T @ B.T"),
    Row("tr(X.T @ A @ X)", "X", "(A + A.T) @ X"),
    Row("a.T @ X @ b", "X", "a @ b.T"),
    Row("x.T @ A @ x", "x", "(A + A.T) @ x"),
    Row("norm(A @ X - B)**2", "X", "2*A.T @ (A @ X - B)"),
    Row("logdet(X)", "X", "inv(X).T"),
    Row("det(X)", "X", "det(X)*inv(X).T"),
    Row("tr(inv(X) @ A)", "X", "-inv(X).T @ A.T @ inv(X).T"),
    Row("sum(exp(X))", "X", "exp(X)"),
    Row("sum(W * W)", "W", "2*W"),
    Row("sum(log(sigmoid(y * (X @ w))))", "w", "X.T @ (y * (1 - sigmoid(y * (X @ w))))"),
    Row("norm(W @ X + b @ ones(1, N) - Y)**2", "b", "2*(W @ X + b @ ones(1, N) - Y) @ ones(N, 1)"),
    Row("-sum(Y * logsoftmax(W @ X))", "W", "(softmax(W @ X) - Y) @ X.T",
        ("sum(Y, axis=0) == 1",)),
    Row("norm(W @ X - Y)**2 + lam*norm(W)**2", "W", "2*(W @ X - Y) @ X.T + 2*lam*W"),
]

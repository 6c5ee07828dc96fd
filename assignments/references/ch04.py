"""Reference solutions for chapter 04's checks (exercise 4.2 needs none: it compares with PyTorch)."""

from genai_checks.ch04 import fd_cases


def fd_diagonal(mu_a, var_a, mu_b, var_b) -> float:
    """The Fréchet distance of diagonal Gaussians: ||mu_a - mu_b||^2 + sum_i (sigma_a,i - sigma_b,i)^2."""
    return float((mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum())


FD_MISTAKES = {  # the common wrong formulas that the check recognises
    "no_square_root": lambda ma, va, mb, vb: (ma - mb).square().sum() + (va + vb - 2 * va * vb).sum(),
    "variances_as_stds": lambda ma, va, mb, vb: (ma - mb).square().sum() + (va - vb).square().sum(),
    "no_factor_2": lambda ma, va, mb, vb: (ma - mb).square().sum() + (va + vb - (va * vb).sqrt()).sum(),
    "absolute_mean": lambda ma, va, mb, vb: (ma - mb).abs().sum() + (va.sqrt() - vb.sqrt()).square().sum(),
    "no_mean_term": lambda ma, va, mb, vb: (va.sqrt() - vb.sqrt()).square().sum(),
    "square_root": lambda ma, va, mb, vb: ((ma - mb).square().sum() + (va.sqrt() - vb.sqrt()).square().sum()).sqrt(),
}


def answers() -> dict[str, object]:
    cases = [case[1:] for case in fd_cases()]
    out: dict[str, object] = {"fd_diagonal": [fd_diagonal(*case) for case in cases]}
    for name, f in FD_MISTAKES.items():
        out[f"fd_diagonal/mistake/{name}"] = [float(f(*case)) for case in cases]
    return out

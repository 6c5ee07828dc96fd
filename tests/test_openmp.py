"""genai_lib sets OpenMP's waiting before torch loads: sleeping threads after a short spin, unless the user chose."""

import os
import subprocess
import sys

SHOW = "import genai_lib, os; print(os.environ['OMP_WAIT_POLICY'], os.environ['GOMP_SPINCOUNT'])"


def _env_after_import(**env: str) -> list[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", SHOW], env={**base, **env}, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_importing_genai_lib_sets_a_passive_policy_with_a_short_spin():
    assert _env_after_import() == ["PASSIVE", "1000"]


def test_a_users_own_openmp_settings_are_kept():
    assert _env_after_import(OMP_WAIT_POLICY="ACTIVE", GOMP_SPINCOUNT="0") == ["ACTIVE", "0"]

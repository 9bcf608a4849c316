"""Run Python code in a child process under an address-space limit (RLIMIT_AS).

A request that allocates more than the limit would abort the child (SIGABRT from a failed
allocation), not raise; the tests that use this helper check that placewise refuses such
requests with an error *before* allocating.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# The cap is set after the imports (numpy, pandas, pyproj map several hundred MB of address
# space), so it bounds what the call under test may allocate.
PRELUDE = """
import resource, sys
import numpy as np, pandas as pd
import placewise as pw
_cap = {cap}
resource.setrlimit(resource.RLIMIT_AS, (_cap, _cap))
"""


def run_capped(code: str, cap_bytes: int = 2 << 30, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # few threads: every thread reserves stack and malloc-arena address space
    env.update(RAYON_NUM_THREADS="2", MALLOC_ARENA_MAX="2", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    src = PRELUDE.format(cap=cap_bytes) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, timeout=timeout, env=env)

"""Executes every notebook in a folder (in order) with nbclient; any error fails the run."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def main(folder: str) -> int:
    books = sorted(Path(folder).glob("*.ipynb"))
    for nb_path in books:
        t0 = time.perf_counter()
        nb = nbformat.read(nb_path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(nb_path.parent)}}).execute()
        print(f"executed {nb_path} in {time.perf_counter() - t0:.1f} s")
    print(f"{len(books)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "notebooks"))

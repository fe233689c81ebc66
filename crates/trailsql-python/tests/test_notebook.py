"""docs/python.ipynb runs from top to bottom, so the example cannot rot."""

import nbformat
from nbclient import NotebookClient

from conftest import REPO


def test_the_example_notebook_runs():
    path = REPO / "docs" / "python.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any('class="trailsql-result"' in h for h in html)

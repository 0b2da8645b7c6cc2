"""Write the API's OpenAPI document (as the app serves it at /openapi.json) to a file.

python -m scripts.openapi clients/typescript/openapi.json
"""

import json
import sys
from pathlib import Path
from typing import Any


def document() -> dict[str, Any]:
    from src.main import app

    return app.openapi()


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m scripts.openapi PATH")
    Path(sys.argv[1]).write_text(render(document()))


if __name__ == "__main__":
    main()

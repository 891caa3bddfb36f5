"""Regenerate index.html: DVC's page with vega, vega-lite and vega-embed inlined.

Usage (from the repository root, needs npm):
    cd /tmp && npm pack vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0
    for f in vega-*.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
    python dvc_plots_template/build_template.py /tmp
"""

import sys
from pathlib import Path

PACKAGES = [("vega", "5.33.1"), ("vega-lite", "5.23.0"), ("vega-embed", "6.29.0")]

PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
{scripts}
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def main(root: str) -> None:
    scripts = []
    for name, version in PACKAGES:
        source = Path(root) / f"{name}-{version}" / "package" / "build" / f"{name}.min.js"
        code = source.read_text(encoding="utf-8")
        assert "</script" not in code.lower(), source
        scripts.append(f"    <!-- {name} {version} (BSD-3-Clause) -->\n    <script>{code}</script>")
    out = Path(__file__).with_name("index.html")
    out.write_text(PAGE.format(scripts="\n".join(scripts)), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])

"""The table of errors (mnistdraw/errors.py) is the one place that gives each code its status
and message: README's error table, the OpenAPI document and the code all agree with it."""

import re

from mnistdraw import ROOT
from mnistdraw.errors import ERRORS
from mnistdraw.openapi import OPENAPI


def readme_errors() -> dict[str, int]:
    """{code: status} from the table under README's "## The API" (status | code | when)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## The API\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header == ["status", "code", "when"], header
    codes = {}
    for row in rows[2:]:  # after the header and its --- line
        status, code_cell, _ = (cell.strip() for cell in row.strip("|").split("|"))
        for code in re.findall(r"`([a-z_]+)`", code_cell):
            assert code not in codes, f"{code} is in README's table twice"
            codes[code] = int(status)
    return codes


def test_readme_lists_every_error_with_its_status():
    assert readme_errors() == {code: error.status for code, error in ERRORS.items()}


def test_every_code_that_the_code_answers_is_in_the_table_and_every_code_is_answered():
    sources = [*(ROOT / "mnistdraw").glob("*.py"), *(ROOT / "cgi-bin").glob("*.py")]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources if p.name != "errors.py")
    used = set(re.findall(r'(?:error|PreprocessError)\(\s*"([a-z_]+)"', text))
    assert used <= set(ERRORS), used - set(ERRORS)
    unused = [code for code in ERRORS if f'"{code}"' not in text]
    assert not unused, f"in the table but never answered: {unused}"


def test_openapi_lists_every_status_and_code_of_the_endpoint():
    responses = OPENAPI["paths"]["/cgi-bin/mnist.py"]["post"]["responses"]
    endpoint = {code: error for code, error in ERRORS.items() if error.endpoint}
    assert set(responses) == {"200"} | {str(error.status) for error in endpoint.values()}
    assert "500" in responses
    for code, error in endpoint.items():
        assert f"`{code}`" in responses[str(error.status)]["description"], code

"""Checks of orgsync's contract fuzzing beyond schemathesis's own."""

import os

import schemathesis

FOREIGN_ORG = os.environ.get("FUZZ_FOREIGN_ORG", "")
MARKER = os.environ.get("FUZZ_MARKER", "")


@schemathesis.check
def no_cross_org_read(ctx, response, case):
    """A token of another org never gets a success on, or a byte of, the foreign org."""
    if not FOREIGN_ORG or not 200 <= response.status_code < 300:
        return
    # OPTIONS answers with the methods of a route, whoever asks: it reads nothing.
    if case.method.upper() == "OPTIONS":
        return
    if case.path_parameters.get("org") == FOREIGN_ORG:
        raise AssertionError(
            f"a token of another org got {response.status_code} on {case.formatted_path}"
        )
    text = response.text or ""
    if MARKER and MARKER in text:
        raise AssertionError(f"the foreign org's data leaked through {case.formatted_path}")
    if f'"Org":"{FOREIGN_ORG}"' in text:
        raise AssertionError(f"the foreign org's jobs leaked through {case.formatted_path}")

"""Schemathesis hooks of the fuzzing run: valid patient ids are the demo patient's.

Left to chance, a patient id is almost never one the caller may see, so every
notebook operation would stop at 404. Valid ids become the demo patient's;
invalid ones are kept, to check they are refused. A hook rather than a fixed
value in schemathesis.toml: schemathesis checks again what a hook changed,
whereas a fixed value replacing an invalid id would be reported as an
invalid request accepted.
"""

import os

import schemathesis
from schemathesis.core.parameters import ParameterLocation

PATIENT_ID = "CARNET_FUZZ_PATIENT_ID"


@schemathesis.hook
def map_case(context, case):
    generated_invalid = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    if case.path_parameters and "patient_id" in case.path_parameters and not generated_invalid:
        case.path_parameters["patient_id"] = int(os.environ[PATIENT_ID])
    return case

#!/usr/bin/env python3
"""Validate trailsql report output against the vendored schemas.

Usage:
    python3 validate.py sarif FILE [FILE ...]   # SARIF 2.1.0 (JSON Schema, via `jsonschema`)
    python3 validate.py junit FILE [FILE ...]   # JUnit XML (XSD 1.0, via `xmlschema`)

Exit status:
    0  every FILE is valid
    1  at least one FILE is invalid or unreadable (every error is printed)
    2  bad command line
    3  a required Python module is missing (pip install jsonschema xmlschema)

The schemas live next to this script (see README.md for their provenance):
    sarif-schema-2.1.0.json  OASIS SARIF 2.1.0 errata01 schema (declares JSON Schema draft-04)
    junit.xsd                Jenkins xUnit plugin junit-10.xsd

Besides the XSD, the junit check requires the document's root element to be
<testsuites> or <testsuite> (the XSD alone would accept any of its elements).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SARIF_SCHEMA = os.path.join(HERE, "sarif-schema-2.1.0.json")
JUNIT_SCHEMA = os.path.join(HERE, "junit.xsd")

PIP_HINT = "pip install jsonschema xmlschema"
ROOT_ELEMENTS = ("testsuites", "testsuite")


def _require(module_name):
    try:
        return __import__(module_name)
    except ImportError as exc:
        print(
            "validate.py: missing Python module %r (%s)\n"
            "install the validators with:\n    %s" % (module_name, exc, PIP_HINT),
            file=sys.stderr,
        )
        sys.exit(3)


def _json_path(error):
    parts = ["$"]
    for p in error.absolute_path:
        parts.append("[%d]" % p if isinstance(p, int) else "." + str(p))
    return "".join(parts)


def _print_json_error(error, indent="  "):
    print("%s%s: %s" % (indent, _json_path(error), error.message))
    # anyOf / oneOf failures carry the per-branch reasons in .context
    for sub in sorted(error.context or [], key=lambda e: (list(e.absolute_path), e.message)):
        print("%s    - %s: %s" % (indent, _json_path(sub), sub.message))


def validate_sarif(paths):
    jsonschema = _require("jsonschema")
    import jsonschema.validators  # noqa: F401  (submodule, for validator_for)

    with open(SARIF_SCHEMA, encoding="utf-8") as fh:
        schema = json.load(fh)
    # The schema declares "$schema": draft-04, so this picks Draft4Validator.
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    # Formats are checked where jsonschema can check them; "uri", "uri-reference"
    # and "date-time" are only checked if the optional packages (rfc3987,
    # rfc3339-validator) happen to be installed.
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    ok = True
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print("%s: INVALID (cannot read JSON): %s" % (path, exc))
            ok = False
            continue
        errors = sorted(
            validator.iter_errors(doc),
            key=lambda e: ([str(p) for p in e.absolute_path], e.message),
        )
        if errors:
            ok = False
            print("%s: INVALID against SARIF 2.1.0 schema (%d error(s))" % (path, len(errors)))
            for err in errors:
                _print_json_error(err)
        else:
            print("%s: valid SARIF 2.1.0" % path)
    return ok


def validate_junit(paths):
    xmlschema = _require("xmlschema")
    from xml.etree import ElementTree
    from xml.etree.ElementTree import ParseError

    schema = xmlschema.XMLSchema(JUNIT_SCHEMA)

    ok = True
    for path in paths:
        try:
            errors = list(schema.iter_errors(path))
        except (OSError, ParseError, xmlschema.XMLResourceError) as exc:
            print("%s: INVALID (cannot read XML): %s" % (path, exc))
            ok = False
            continue
        except Exception as exc:  # e.g. XML syntax errors surfaced by other parsers
            print("%s: INVALID (cannot parse XML): %s: %s" % (path, type(exc).__name__, exc))
            ok = False
            continue
        # junit.xsd declares every element globally, so on its own it would accept
        # e.g. a lone <failure/> as a whole document; CI tools expect the root to
        # be <testsuites> or <testsuite>, so that is checked too.
        root_problem = None
        if not errors:
            root_tag = ElementTree.parse(path).getroot().tag
            if root_tag not in ROOT_ELEMENTS:
                root_problem = "root element is <%s>; expected <testsuites> or <testsuite>" % root_tag
        if errors:
            ok = False
            print("%s: INVALID against junit.xsd (%d error(s))" % (path, len(errors)))
            for err in errors:
                where = err.path or "/"
                line = getattr(err, "sourceline", None)
                if line:
                    where = "%s (line %s)" % (where, line)
                print("  %s: %s" % (where, err.reason or err.message))
        elif root_problem:
            ok = False
            print("%s: INVALID JUnit report (schema-valid, but %s)" % (path, root_problem))
        else:
            print("%s: valid JUnit XML" % path)
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(description="Validate SARIF or JUnit XML output against the vendored schemas.")
    parser.add_argument("kind", choices=["sarif", "junit"], help="which format FILE is in")
    parser.add_argument("files", nargs="+", metavar="FILE")
    args = parser.parse_args(argv)

    if args.kind == "sarif":
        ok = validate_sarif(args.files)
    else:
        ok = validate_junit(args.files)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

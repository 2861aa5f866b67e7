"""The BAP documents (docs/bap/*.md) as data: every requirement statement, its layer and
how it is verified, and the coverage table of a BAIOP run (seed 000 App. C: every statement
testable at an accessible interface; App. E i: pass/fail traceable to each statement).

A statement is one Markdown list line:

    - **H1-COM-012** <statement>. [*Deviation:* <what we do instead>] *Test:* <verification>

ID = document prefix (H1 in h1.md, HAN in han.md), a layer code (FUN functional, INF
information, COM communication, CMP component, SEC security, ACC user access) and three
digits; unique over all documents, never reused. The verification is one or more BAIOP
cases `tc:<suite>.<Case_Name>` (suites: SUITES), or `inspection: <why>` for what no
accessible interface shows (hardware, code structure); a Test naming cases may add an
inspection note too. A *Deviation:* note says where we fall short of the cited clause.

API (self-contained; the runner imports only this):
    load(paths=None) -> [Statement]         raises BapError listing every problem
    coverage(statements, results, tagged=None) -> [row dict]
    table_markdown(rows) -> str; table_csv(rows) -> str

`python -m tools.baiop.bap [--json] [FILES]` lists the statements (the runner's input).
"""
import csv
import glob
import io
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS_DIR = os.path.join(ROOT, "docs", "bap")

LAYERS = {
    "FUN": "functional",
    "INF": "information",
    "COM": "communication",
    "CMP": "component",
    "SEC": "security",
    "ACC": "user access",
}
PREFIXES = ("H1", "HAN")
DOC_PREFIX = {"h1": "H1", "han": "HAN"}  # the prefix a document's own statements carry
SUITES = ("h1_framing", "h1_timing", "h1_data_request", "h1_obis", "h1_registers",
          "h1_security", "han_join", "han_security", "han_clusters", "han_ota")

KIND_TC = "tc"
KIND_INSPECTION = "inspection"

# Verdicts of the coverage table.
PASS = "PASS"
FAIL = "FAIL"
NOT_RUN = "NOT RUN"
PARTIAL = "PARTIAL"  # some of its cases passed, the others did not run
INSPECTION = "INSPECTION"

_ID = r"(?P<prefix>[A-Z0-9]+)-(?P<layer>[A-Z]{3})-(?P<num>[0-9]{3})"
_LINE = re.compile(r"^- \*\*" + _ID + r"\*\* (?P<rest>.*)$")
_LOOKS_LIKE = re.compile(r"^\s*[-*+]\s+\*\*\s*(H1|HAN)\b", re.I)  # a statement, maybe broken
_TEST = "*Test:*"
_DEVIATION = "*Deviation:*"
_CASE = re.compile(r"tc:([a-z0-9_]+)\.([A-Za-z0-9_]+)")
_CASE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$")
_INSPECTION = re.compile(r"inspection:\s*(\S.*)$", re.S)


class BapError(ValueError):
    """Every problem found in the documents, one per line of the message."""

    def __init__(self, problems):
        self.problems = list(problems)
        ValueError.__init__(self, "\n".join(self.problems))


class Statement:
    __slots__ = ("id", "doc", "layer", "text", "kind", "cases", "inspection", "deviation",
                 "section", "line")

    def __init__(self, id, doc, layer, text, kind, cases, inspection=None, deviation=None,
                 section="", line=0):
        self.id = id
        self.doc = doc  # document stem: "h1", "han"
        self.layer = layer  # FUN, INF, COM, CMP, SEC, ACC
        self.text = text
        self.kind = kind  # KIND_TC or KIND_INSPECTION
        self.cases = tuple(cases)  # "suite.Case_Name", in the order written
        self.inspection = inspection  # the inspection note, if any
        self.deviation = deviation
        self.section = section  # the heading it sits under
        self.line = line

    @property
    def suites(self):
        return tuple(sorted(set(c.split(".", 1)[0] for c in self.cases)))

    def as_dict(self):
        return {k: (list(getattr(self, k)) if k == "cases" else getattr(self, k))
                for k in self.__slots__}

    def __repr__(self):
        return "Statement(%s, %s, %s)" % (self.id, self.kind, ",".join(self.cases))


def default_paths():
    return sorted(glob.glob(os.path.join(DOCS_DIR, "*.md")))


def _parse_test(test, where, problems):
    """(kind, cases, inspection note) of a Test field."""
    cases = []
    for m in _CASE.finditer(test):
        suite, name = m.group(1), m.group(2)
        if suite not in SUITES:
            problems.append("%s: unknown suite %r in %s" % (where, suite, m.group(0)))
        if not _CASE_NAME.match(name):
            problems.append("%s: malformed case name %r" % (where, name))
        case = suite + "." + name
        if case not in cases:
            cases.append(case)
    # A "tc:" not followed by suite.Case is a typo, not an inspection.
    broken = test.count("tc:") != len(list(_CASE.finditer(test)))
    if broken:
        problems.append("%s: malformed tc: reference in %r" % (where, test))
    m = _INSPECTION.search(test)
    note = m.group(1).strip().rstrip(".") if m else None
    if m and not note:
        problems.append("%s: inspection without a reason" % where)
    if cases:
        return KIND_TC, cases, note
    if note:
        return KIND_INSPECTION, cases, note
    if not broken:
        problems.append("%s: Test names no tc:<suite>.<Case> and no 'inspection: why'" % where)
    return None, cases, None


def parse_text(text, doc, problems=None, path=None):
    """Statements of one document's text. Problems are appended to `problems` (a list)
    when given, else raised as a BapError."""
    own = problems is None
    if own:
        problems = []
    out = []
    section = ""
    where_doc = path or doc
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        where = "%s:%d" % (where_doc, n)
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            continue
        m = _LINE.match(line)
        if not m:
            if _LOOKS_LIKE.match(line):
                problems.append("%s: malformed statement line: %r" % (where, line[:80]))
            continue
        sid = "%s-%s-%s" % (m.group("prefix"), m.group("layer"), m.group("num"))
        prefix = m.group("prefix")
        if prefix not in PREFIXES:
            problems.append("%s: %s: unknown prefix %r" % (where, sid, prefix))
        elif doc in DOC_PREFIX and DOC_PREFIX[doc] != prefix:
            problems.append("%s: %s in %s.md, whose statements are %s-" %
                            (where, sid, doc, DOC_PREFIX[doc]))
        if m.group("layer") not in LAYERS:
            problems.append("%s: %s: unknown layer %r" % (where, sid, m.group("layer")))
        rest = m.group("rest")
        if rest.count(_TEST) != 1:
            problems.append("%s: %s: %s" % (where, sid, "no *Test:*" if _TEST not in rest
                                              else "more than one *Test:*"))
            continue
        body, test = rest.split(_TEST)
        deviation = None
        if _DEVIATION in test:  # a deviation note written after the Test
            test, deviation = test.split(_DEVIATION, 1)
        if _DEVIATION in body:
            body, deviation = body.split(_DEVIATION, 1)
        body = body.strip()
        test = test.strip()
        if deviation is not None:
            deviation = deviation.strip()
            if not deviation:
                problems.append("%s: %s: empty *Deviation:*" % (where, sid))
        if len(body) < 10:
            problems.append("%s: %s: statement text missing" % (where, sid))
        if not test:
            problems.append("%s: %s: empty *Test:*" % (where, sid))
            continue
        kind, cases, note = _parse_test(test, "%s: %s" % (where, sid), problems)
        if kind is None:
            continue
        out.append(Statement(sid, doc, m.group("layer"), body, kind, cases, note, deviation,
                             section, n))
    if own and problems:
        raise BapError(problems)
    return out


def load(paths=None):
    """Statements of the documents at paths (default: docs/bap/*.md), in document order.
    Raises BapError naming every malformed line, unknown suite, missing Test and duplicate
    ID."""
    if paths is None:
        paths = default_paths()
    if isinstance(paths, str):
        paths = [paths]
    problems = []
    out = []
    if not paths:
        problems.append("no BAP documents found in %s" % DOCS_DIR)
    for path in paths:
        doc = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as f:
            text = f.read()
        out.extend(parse_text(text, doc, problems, path))
    seen = {}
    for s in out:
        if s.id in seen:
            problems.append("duplicate ID %s: %s:%d and %s:%d" % (
                s.id, seen[s.id].doc, seen[s.id].line, s.doc, s.line))
        else:
            seen[s.id] = s
    if problems:
        raise BapError(problems)
    return out


def _verdict_of(value):
    """A result value as a verdict: a string (PASS/FAIL/SKIP...), a bool, or an object with
    a `status` or `passed` attribute (Robot's result objects)."""
    if isinstance(value, bool):
        return PASS if value else FAIL
    status = getattr(value, "status", None)
    if status is None and hasattr(value, "passed"):
        status = PASS if value.passed else FAIL
    if status is None:
        status = value
    status = str(status).upper()
    return {"PASSED": PASS, "FAILED": FAIL, "SKIPPED": "SKIP", "NOT_RUN": NOT_RUN}.get(
        status, status)


def coverage(statements, results, tagged=None):
    """One row per statement: its cases with their verdicts and the statement's verdict.

    results: {"suite.Case_Name": verdict} (a verdict: "PASS"/"FAIL"/"SKIP"/..., a bool, or a
    result object with .status); a case name without suite is matched too. tagged:
    optional {statement id: ["suite.Case_Name", ...]}, the cases that carry the statement's
    ID as a tag (Robot), counted with the ones the document names.

    The statement's verdict: INSPECTION when verified by inspection only; FAIL when one of
    its cases failed; PASS when all of them ran and passed; PARTIAL when some passed and
    the others did not run; NOT RUN when none ran (SKIP counts as not run)."""
    by_name = {}
    for case, value in (results or {}).items():
        v = _verdict_of(value)
        by_name[case] = v
        short = case.split(".")[-1]
        by_name.setdefault(short, v)
    rows = []
    for s in statements:
        cases = list(s.cases)
        for c in (tagged or {}).get(s.id, ()):
            if c not in cases:
                cases.append(c)
        verdicts = []
        for c in cases:
            v = by_name.get(c)
            if v is None:
                v = by_name.get(c.split(".")[-1], NOT_RUN)
            if v == "SKIP":
                v = NOT_RUN
            verdicts.append((c, v))
        if not cases:
            verdict = INSPECTION
        elif any(v == FAIL for _, v in verdicts):
            verdict = FAIL
        elif all(v == PASS for _, v in verdicts):
            verdict = PASS
        elif any(v == PASS for _, v in verdicts):
            verdict = PARTIAL
        else:
            verdict = NOT_RUN
        rows.append({
            "id": s.id, "doc": s.doc, "layer": s.layer, "kind": s.kind, "text": s.text,
            "cases": verdicts, "inspection": s.inspection, "deviation": s.deviation,
            "verdict": verdict,
        })
    return rows


def _cases_cell(row):
    cells = ["%s %s" % (c, v) for c, v in row["cases"]]
    if row["inspection"]:
        cells.append("inspection")
    return "; ".join(cells)


def table_markdown(rows):
    out = ["| ID | layer | verdict | cases | statement |", "|---|---|---|---|---|"]
    for r in rows:
        text = r["text"].replace("|", "\\|")
        if len(text) > 120:
            text = text[:117] + "..."
        out.append("| %s | %s | %s | %s | %s |" % (r["id"], LAYERS[r["layer"]], r["verdict"],
                                                   _cases_cell(r).replace("|", "\\|"), text))
    return "\n".join(out) + "\n"


def table_csv(rows):
    f = io.StringIO()
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "doc", "layer", "kind", "verdict", "cases", "deviation", "statement"])
    for r in rows:
        w.writerow([r["id"], r["doc"], r["layer"], r["kind"], r["verdict"], _cases_cell(r),
                    r["deviation"] or "", r["text"]])
    return f.getvalue()


def summary(rows):
    """{verdict: count} over rows."""
    out = {}
    for r in rows:
        out[r["verdict"]] = out.get(r["verdict"], 0) + 1
    return out


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tools.baiop.bap",
                                 description="List the BAP statements of docs/bap/*.md.")
    ap.add_argument("files", nargs="*", help="BAP documents (default: docs/bap/*.md)")
    ap.add_argument("--json", action="store_true", help="one JSON object per statement")
    args = ap.parse_args(argv)
    try:
        statements = load(args.files or None)
    except BapError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        return 1
    for s in statements:
        if args.json:
            print(json.dumps(s.as_dict(), sort_keys=True))
        else:
            how = ", ".join(s.cases) or "inspection"
            print("%s  %-11s %s" % (s.id, s.kind, how))
    if not args.json:
        tc = sum(1 for s in statements if s.kind == KIND_TC)
        print("%d statements: %d by test case, %d by inspection only" % (
            len(statements), tc, len(statements) - tc))
    return 0


if __name__ == "__main__":
    sys.exit(main())

# The BAP documents (docs/bap/*.md, seed 000 App. C) as the BAIOP runner reads them
# (tools/baiop/bap.py): they parse, every statement has a well-formed unique ID and a Test
# naming cases of the BAIOP suites or an inspection reason; the parser refuses broken
# documents; and spot checks that what the documents state is what the firmware does (the
# documents are the expected values here, written by hand from the specifications and read
# against the code, not generated from it).
import inspect
import json
import os
import re
import subprocess
import sys

import pytest

from h1 import profiles
from h1.builder import TelegramBuilder, max_telegram_length
from h1.crypt import FrameEncryptor, frame_overhead
from p1_simsource import SimSource
from tools.baiop import bap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
H1_DOC = os.path.join(ROOT, "docs", "bap", "h1.md")
HAN_DOC = os.path.join(ROOT, "docs", "bap", "han.md")
# The BAIOP suites of issue 14, written out here rather than taken from bap.SUITES.
SUITES = {"h1_framing", "h1_timing", "h1_data_request", "h1_obis", "h1_registers",
          "h1_security", "han_join", "han_security", "han_clusters", "han_ota"}
ID_RE = re.compile(r"^(H1|HAN)-(FUN|INF|COM|CMP|SEC|ACC)-[0-9]{3}$")
OBIS_RE = re.compile(r"`(\d+-\d+:\d+\.\d+\.\d+)`")


@pytest.fixture(scope="module")
def statements():
    return bap.load()


@pytest.fixture(scope="module")
def by_id(statements):
    return {s.id: s for s in statements}


# --- the documents ----------------------------------------------------------------------

def test_both_documents_parse_with_enough_statements(statements):
    docs = {}
    for s in statements:
        docs[s.doc] = docs.get(s.doc, 0) + 1
    assert set(docs) == {"h1", "han"}
    assert 40 <= docs["h1"] <= 80
    assert 30 <= docs["han"] <= 60


def test_ids_are_well_formed_unique_and_match_their_document(statements):
    ids = [s.id for s in statements]
    assert len(ids) == len(set(ids))
    for s in statements:
        assert ID_RE.match(s.id), s.id
        assert s.id.startswith({"h1": "H1-", "han": "HAN-"}[s.doc]), s.id
        assert s.layer == s.id.split("-")[1]


def test_every_layer_of_app_c_has_statements(statements):
    for doc in ("h1", "han"):
        layers = {s.layer for s in statements if s.doc == doc}
        assert layers == {"FUN", "INF", "COM", "CMP", "SEC", "ACC"}, doc


def test_every_statement_has_a_test(statements):
    for s in statements:
        assert s.kind in ("tc", "inspection"), s.id
        if s.kind == "tc":
            assert s.cases, s.id
        else:
            assert s.inspection and len(s.inspection) > 10, s.id
        assert len(s.text) > 20, s.id


def test_named_cases_belong_to_the_suites(statements):
    for s in statements:
        for case in s.cases:
            suite, name = case.split(".")
            assert suite in SUITES, (s.id, case)
            assert re.match(r"^[A-Z][A-Za-z0-9_]*$", name), (s.id, case)
            assert suite.startswith(s.doc + "_"), (s.id, case)  # H1 cases test H1


def test_every_named_case_exists(statements):
    """Issue 14: every statement has a case that exists, or says why it is inspected."""
    import glob

    cases = set()
    for path in glob.glob(os.path.join(ROOT, "tools", "baiop", "suites", "*.robot")):
        text = open(path).read()
        if "*** Test Cases ***" not in text:
            continue
        suite = os.path.splitext(os.path.basename(path))[0]
        body = text.split("*** Test Cases ***", 1)[1]
        cases |= {suite + "." + ln.strip() for ln in body.splitlines()
                  if ln.strip() and not ln[0].isspace() and not ln.startswith("*")}
    missing = [(s.id, c) for s in statements for c in s.cases if c not in cases]
    assert not missing, missing
    assert len(cases) >= 90


def test_document_sections_follow_app_c(statements):
    # introduction, scope, references, architecture, terms, four layers, security, access
    want = ["Introduction", "Scope", "Referenced documents", "System architecture", "Terms",
            "Functional layer", "Information layer", "Communication layer", "Component layer",
            "Security", "User access"]
    for path in (H1_DOC, HAN_DOC):
        with open(path, encoding="utf-8") as f:
            heads = [line[3:] for line in f.read().splitlines() if line.startswith("## ")]
        assert len(heads) == len(want), path
        for got, w in zip(heads, want):
            assert w in got, (path, got, w)


def test_deviations_are_notes_not_statement_text(by_id):
    assert by_id["H1-COM-012"].deviation.startswith("[DSMR5] 5.7.1")
    assert "Deviation" not in by_id["H1-COM-012"].text
    assert by_id["H1-COM-012"].cases == ("h1_data_request.Low_Mid_Telegram_Completes",)
    assert by_id["HAN-SEC-011"].kind == "inspection"


def test_cli_lists_statements_as_json():
    out = subprocess.run([sys.executable, "-m", "tools.baiop.bap", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    first = rows[0]
    assert first["id"] == "H1-FUN-001" and first["doc"] == "h1"
    assert first["cases"] == ["h1_timing.Period_Per_Profile"]


# --- the parser refuses broken documents -------------------------------------------------

GOOD = ("# T\n"
        "- **H1-COM-001** The port runs at 115200 baud. *Test:* tc:h1_framing.Serial_8N1\n")


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _problems(tmp_path, text, name="h1.md"):
    with pytest.raises(bap.BapError) as e:
        bap.load([_write(tmp_path, name, text)])
    return e.value.problems


def test_parser_accepts_a_good_line(tmp_path):
    s, = bap.load([_write(tmp_path, "h1.md", GOOD)])
    assert (s.id, s.doc, s.layer, s.kind, s.cases, s.section, s.line) == (
        "H1-COM-001", "h1", "COM", "tc", ("h1_framing.Serial_8N1",), "T", 2)
    assert s.text == "The port runs at 115200 baud."


def test_parser_reads_inspection_and_deviation(tmp_path):
    text = ("- **H1-CMP-001** Pin 1 gives 5 V. *Deviation:* not on dev kits. "
            "*Test:* inspection: hardware only.\n")
    s, = bap.load([_write(tmp_path, "h1.md", text)])
    assert (s.kind, s.cases, s.inspection, s.deviation) == (
        "inspection", (), "hardware only", "not on dev kits.")


def test_parser_refuses_duplicate_ids(tmp_path):
    a = _write(tmp_path, "h1.md", GOOD)
    b = tmp_path / "b"
    b.mkdir()
    with pytest.raises(bap.BapError) as e:
        bap.load([a, _write(b, "h1.md", GOOD)])
    assert any("duplicate ID H1-COM-001" in p for p in e.value.problems)
    assert any("duplicate" in p for p in _problems(tmp_path, GOOD + GOOD.split("\n", 1)[1]))


def test_parser_refuses_a_statement_without_test(tmp_path):
    p = _problems(tmp_path, "- **H1-COM-002** The port runs at 115200 baud.\n")
    assert p == ["%s:1: H1-COM-002: no *Test:*" % (tmp_path / "h1.md")]
    p = _problems(tmp_path, "- **H1-COM-002** The port runs at 115200 baud. *Test:* maybe\n")
    assert "no tc:<suite>.<Case> and no 'inspection: why'" in p[0]


@pytest.mark.parametrize("line, what", [
    ("- **H1-COM-12** Short number. *Test:* tc:h1_framing.X_Y", "malformed statement"),
    ("- **H1-XYZ-012** Unknown layer here. *Test:* tc:h1_framing.X_Y", "unknown layer"),
    ("- **HAN-COM-012** Wrong document prefix. *Test:* tc:han_join.X_Y", "whose statements"),
    ("- **H1-COM-012** Unknown suite named. *Test:* tc:h1_bogus.X_Y", "unknown suite"),
    ("- **H1-COM-012** Bad case name here. *Test:* tc:h1_framing.lower", "malformed case"),
    ("- **H1-COM-012** Broken reference. *Test:* tc:h1_framing", "malformed tc:"),
    ("- **H1-COM-012** Two tests. *Test:* tc:h1_framing.A *Test:* tc:h1_framing.B",
     "more than one"),
    ("- **H1-COM-012** Empty inspection. *Test:* inspection:", "no tc:"),
])
def test_parser_refuses_malformed_lines(tmp_path, line, what):
    problems = _problems(tmp_path, line + "\n")
    assert len(problems) == 1 and what in problems[0], problems


def test_coverage_rows_and_verdicts(tmp_path):
    text = ("- **H1-COM-001** First statement here. *Test:* tc:h1_framing.A, tc:h1_timing.B\n"
            "- **H1-COM-002** Second statement here. *Test:* tc:h1_framing.A\n"
            "- **H1-COM-003** Third statement here. *Test:* tc:h1_framing.C\n"
            "- **H1-COM-004** Fourth statement here. *Test:* tc:h1_timing.D\n"
            "- **H1-CMP-001** Fifth statement here. *Test:* inspection: hardware\n")
    st = bap.load([_write(tmp_path, "h1.md", text)])
    results = {"h1_framing.A": "PASS", "h1_timing.B": "FAIL", "C": True, "h1_timing.D": "SKIP"}
    rows = bap.coverage(st, results)
    assert [r["verdict"] for r in rows] == ["FAIL", "PASS", "PASS", "NOT RUN", "INSPECTION"]
    assert rows[0]["cases"] == [("h1_framing.A", "PASS"), ("h1_timing.B", "FAIL")]
    # A case tagged with the statement's ID counts too; one not run makes it partial.
    rows = bap.coverage(st, {"h1_framing.A": "PASS"}, tagged={"H1-COM-002": ["h1_obis.E"]})
    assert rows[1]["verdict"] == "PARTIAL"
    assert bap.summary(rows) == {"PARTIAL": 2, "NOT RUN": 2, "INSPECTION": 1}
    md = bap.table_markdown(rows)
    assert md.splitlines()[2].startswith("| H1-COM-001 | communication | PARTIAL |")
    assert bap.table_csv(rows).splitlines()[0].startswith("id,doc,layer,kind,verdict")


# --- the documents say what the firmware does ------------------------------------------

INF_OF_PROFILE = {"nl": "H1-INF-001", "nl4": "H1-INF-002", "be": "H1-INF-003",
                  "lu": "H1-INF-004", "se": "H1-INF-005", "lt": "H1-INF-006"}


def _codes(telegram):
    return [c.decode() for c in re.findall(rb"^(\d+-\d+:\d+\.\d+\.\d+)\(", telegram, re.M)]


def _telegram(name, tariff_count=2):
    p = profiles.by_name(name)
    src = SimSource(utc_offset_s=p.std_offset_s, tariff_count=tariff_count)
    assert src.snapshot.mbus_valid and src.snapshot.mbus_valve == -1  # the BAP's baseline
    b = TelegramBuilder(p)
    return bytes(b.buf[:b.build(src.snapshot)])


@pytest.mark.parametrize("name", sorted(INF_OF_PROFILE))
def test_obis_objects_in_order_are_those_the_builder_emits(by_id, name):
    listed = OBIS_RE.findall(by_id[INF_OF_PROFILE[name]].text)
    assert _codes(_telegram(name)) == listed


def test_extra_tariff_registers_follow_the_calendar(by_id):
    assert "t = 3..16" in by_id["H1-INF-007"].text
    codes = _codes(_telegram("nl", tariff_count=4))
    i = codes.index("1-0:2.8.2")
    assert codes[i + 1:i + 5] == ["1-0:1.8.3", "1-0:1.8.4", "1-0:2.8.3", "1-0:2.8.4"]
    codes = _codes(_telegram("be", tariff_count=3))
    i = codes.index("0-0:98.1.0")
    assert codes[i + 1:i + 3] == ["1-0:1.8.3", "1-0:2.8.3"]


def test_periods_are_the_profiles(by_id):
    text = by_id["H1-FUN-001"].text
    m = re.search(r"1 s in ((?:`\w+`,? ?)+); 10 s in ((?:`\w+`,? ?)+)", text)
    one = re.findall(r"`(\w+)`", m.group(1))
    ten = re.findall(r"`(\w+)`", m.group(2))
    assert sorted(one + ten) == sorted(p.name for p in profiles.PROFILES)
    for name in one:
        assert profiles.by_name(name).period_s == 1
    for name in ten:
        assert profiles.by_name(name).period_s == 10


def test_header_identification_and_encryption(by_id):
    assert "`MPY5\\2H1-<PROFILE>`" in by_id["H1-COM-003"].text
    for p in profiles.PROFILES:
        assert p.header == b"MPY5\\2H1-" + p.name.upper().encode()
        assert _telegram(p.name).startswith(b"/MPY5\\2H1-" + p.name.upper().encode() + b"\r\n\r\n")
    assert [p.name for p in profiles.PROFILES if p.encrypted] == ["lu"]  # H1-SEC-010


def test_max_telegram_lengths(by_id):
    assert "under 4600 bytes in every profile" in by_id["H1-COM-008"].text
    for p in profiles.PROFILES:
        n = max_telegram_length(p, p.header)
        if p.encrypted:
            n += frame_overhead(n)
        assert n < 4600, p.name
        assert n * 10 / 115200 < 0.4  # 10 bits a byte at 8N1
        assert len(_telegram(p.name)) <= n


def test_frame_counter_block(by_id):
    assert "by at most 16" in by_id["H1-SEC-006"].text
    assert inspect.signature(FrameEncryptor).parameters["reserve"].default == 16


def test_han_units_channels_and_keys(by_id):
    from han import node
    from han.nwk import store
    from han.ota import server
    from han.se import units
    from han.tc import keys

    e = units.electricity()
    assert (e.unit_of_measure, e.multiplier, e.divisor) == (0x00, 1, 1000)
    assert (e.summation_fmt, e.demand_fmt, e.history_fmt) == (0x33, 0x13, 0x33)
    assert "SummationFormatting 0x0303 = 0x33" in by_id["HAN-INF-003"].text
    g = units.gas(3)
    assert (g.unit_of_measure, g.divisor, g.summation_fmt) == (0x01, 1000, 0x2B)
    assert "SummationFormatting 0x2B" in by_id["HAN-INF-004"].text
    chans = [c for c in range(27) if node.DEFAULT_CHANNEL_MASK >> c & 1]
    assert "channels %s" % ", ".join(map(str, chans[:-1])) in by_id["HAN-COM-001"].text
    assert chans == [11, 15, 20, 25] and node.DEFAULT_PAN_ID == 0x4D45
    assert [n - 2 for n in keys.INSTALL_CODE_LENGTHS] == [6, 8, 12, 16]
    assert store.COUNTER_BLOCK == 256 and "blocks of 256" in by_id["HAN-SEC-008"].text
    assert server.MAX_DATA == 65 and "at most 65 octets" in by_id["HAN-COM-011"].text

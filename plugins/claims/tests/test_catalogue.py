"""The claims catalogue: valid and legally right as shipped; the checker catches mistakes."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from plugins.claims.catalogue import (
    CATALOGUE_FILE,
    PICTOGRAM_DIR,
    SVG_NAMESPACE,
    CatalogueError,
    Priority,
    Responsibility,
    Scope,
    check_catalogue,
    load_catalogue,
)

# The places the claims issue names: rooms of a dwelling, then the common parts.
DWELLING_ROOMS = {"entrance", "living_room", "bedroom", "kitchen", "bathroom", "toilet",
                  "balcony"}
COMMON_PARTS = {"hall", "staircase", "lift", "car_park", "cellar", "bin_room", "outside"}
SHIPPED = CATALOGUE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


# -- the shipped catalogue ----------------------------------------------------------------------

def test_the_shipped_catalogue_is_valid_and_covers_every_place(catalogue):
    _, issues = check_catalogue()
    assert issues == []
    assert len(catalogue.problems) >= 60
    assert {p.id for p in catalogue.places_in(Scope.DWELLING)} >= DWELLING_ROOMS
    assert {p.id for p in catalogue.places_in(Scope.COMMON)} >= COMMON_PARTS
    for place in catalogue.places:
        problems = [problem for item in catalogue.equipment_in(place.id)
                    for problem in catalogue.problems_of(item.id)]
        assert problems, f"nothing to report in {place.id}"
    assert set(Responsibility) == {p.responsibility for p in catalogue.problems}
    assert set(Priority) == {p.priority for p in catalogue.problems}


def test_labels_are_in_french_and_english_with_french_typography(catalogue):
    texts = [item.label for item in (*catalogue.places, *catalogue.equipment,
                                     *catalogue.problems, *catalogue.trades)]
    texts += [p.safety_advice for p in catalogue.problems if p.safety_advice]
    for text in texts:
        assert text.fr.strip() and text.en.strip(), text
        assert "'" not in text.fr, f"typographic apostrophe (’) expected: {text.fr}"
    assert catalogue.problem("gas.smell").label.get("en") == "Smell of gas"
    assert catalogue.problem("gas.smell").label.get("fr") == "Odeur de gaz"


def test_every_pictogram_exists_is_well_formed_monochrome_svg_with_a_title(catalogue):
    referenced = {item.pictogram for item in catalogue.equipment}
    referenced |= {place.pictogram for place in catalogue.places if place.pictogram}
    assert len({item.pictogram for item in catalogue.equipment}) >= 30
    on_disk = {path.name for path in PICTOGRAM_DIR.glob("*.svg")}
    assert referenced <= on_disk
    assert on_disk <= referenced, f"unused pictograms: {sorted(on_disk - referenced)}"
    for name in sorted(referenced):
        root = ET.parse(PICTOGRAM_DIR / name).getroot()
        assert root.tag == f"{{{SVG_NAMESPACE}}}svg", name
        assert root.get("viewBox") == "0 0 48 48", name
        title = root.find(f"{{{SVG_NAMESPACE}}}title")
        assert title is not None and title.text.strip(), name
        colours = {value for element in root.iter() for attribute in ("fill", "stroke")
                   if (value := element.get(attribute)) is not None}
        assert colours <= {"none", "currentColor"}, (name, colours)
        assert "style" not in (PICTOGRAM_DIR / name).read_text(encoding="utf-8"), name
        assert len(list(root.iter())) > 3, f"{name} draws almost nothing"


# -- who pays: spot checks against the texts ---------------------------------------------------

def test_repairs_listed_in_the_decret_87_712_annex_are_the_tenants(catalogue):
    for problem_id, annex_item in [("wc.cistern_runs", "IV-d"), ("tap.drips", "IV-d"),
                                   ("sink.blocked", "IV-a"), ("electrical_panel.fuse", "V"),
                                   ("window.broken_pane", "II-b"), ("shutter.strap", "II-c"),
                                   ("gas.hose_expired", "IV-b"),
                                   ("balcony_drain.blocked", "I-c")]:
        problem = catalogue.problem(problem_id)
        assert problem.responsibility is Responsibility.TENANT, problem_id
        assert f"87-712, annexe, {annex_item} " in problem.legal_reference, problem_id
    flapper = catalogue.problem("wc.cistern_runs")
    assert "joints cloches des chasses d’eau" in flapper.legal_reference
    assert flapper.equipment == "wc" and "toilet" in catalogue.equipment_item("wc").places


def test_what_is_not_a_reparation_locative_is_not_the_tenants(catalogue):
    landlord = Responsibility.LANDLORD
    assert catalogue.problem("water_riser.leak").responsibility is landlord
    assert catalogue.problem("drain_stack.blocked").responsibility is landlord
    assert catalogue.problem("water_heater.tank_leak").responsibility is landlord
    assert catalogue.problem("boiler.body_leak").responsibility is landlord
    assert catalogue.problem("electrical_panel.burning").responsibility is landlord
    for problem in catalogue.problems_of("lift"):
        assert problem.responsibility is not Responsibility.TENANT, problem.id
    lift = catalogue.problem("lift.out_of_order")
    assert lift.responsibility is Responsibility.MAINTENANCE_CONTRACT
    assert "87-713, annexe, I " in lift.legal_reference
    service = catalogue.problem("boiler.annual_service")
    assert service.responsibility is Responsibility.MAINTENANCE_CONTRACT
    assert "87-713" in service.legal_reference and "2009-649" in service.legal_reference


def test_every_reference_matches_its_responsibility(catalogue):
    for problem in catalogue.problems:
        reference = problem.legal_reference
        if problem.responsibility is Responsibility.TENANT:
            assert "89-462, art. 7" in reference, problem.id
            assert "87-712" in reference or "2010-238" in reference, problem.id
        elif problem.responsibility is Responsibility.LANDLORD:
            assert re.search(r"89-462, art\. 6|art\. 6 c", reference), problem.id
        elif problem.responsibility is Responsibility.MAINTENANCE_CONTRACT:
            assert "87-713" in reference, problem.id


def test_in_the_common_parts_the_tenant_only_pays_for_their_own_keys_and_locks(catalogue):
    common = {place.id for place in catalogue.places_in(Scope.COMMON)}
    for problem in catalogue.problems:
        places = set(catalogue.equipment_item(problem.equipment).places)
        if places <= common and problem.responsibility is Responsibility.TENANT:
            assert "87-712, annexe, II-d" in problem.legal_reference, problem.id


def test_dangers_come_with_what_to_do_first(catalogue):
    gas = catalogue.problem("gas.smell")
    assert gas.priority is Priority.EMERGENCY and gas.deadline_hours <= 4
    for language in ("fr", "en"):
        advice = gas.safety_advice.get(language)
        assert "0 800 47 33 33" in advice and "GRDF" in advice and "112" in advice
    assert "interrupteur" in gas.safety_advice.fr and "switch" in gas.safety_advice.en

    leak = catalogue.problem("water_pipe.active_leak")
    assert leak.priority is Priority.EMERGENCY
    assert "robinet d’arrêt" in leak.safety_advice.fr and "stop valve" in leak.safety_advice.en

    sparks = catalogue.problem("electrical_panel.burning")
    assert sparks.priority is Priority.EMERGENCY
    assert "disjoncteur" in sparks.safety_advice.fr and "breaker" in sparks.safety_advice.en

    for problem in catalogue.problems:
        if problem.priority is Priority.EMERGENCY or problem.hazards:
            assert problem.safety_advice is not None, problem.id
        if problem.priority is Priority.EMERGENCY:
            assert problem.deadline_hours <= 24, problem.id


# -- the checker --------------------------------------------------------------------------------

def _problem_block(text: str, problem_id: str) -> tuple[int, int]:
    """Start and end offsets of one [[problems]] table in ``text``."""
    start = text.rindex("[[problems]]", 0, text.index(f'id = "{problem_id}"'))
    end = text.find("\n[[", start + 1)
    return start, (len(text) if end < 0 else end)


def _edit(text: str, problem_id: str, old: str, new: str) -> str:
    start, end = _problem_block(text, problem_id)
    block = text[start:end]
    assert block.count(old) == 1, (problem_id, old)
    return text[:start] + block.replace(old, new) + text[end:]


def _line_of(text: str, snippet: str) -> int:
    return text[:text.index(snippet)].count("\n") + 1


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(text, encoding="utf-8")
    return path


# Each case: a mistake made in one problem, the message expected, and the line expected:
# the edited line, or, when a key was removed, the line of the key the message points to.
MISTAKES = {
    "unknown responsibility": (
        "wc.cistern_runs", 'responsibility = "tenant"', 'responsibility = "locataire"',
        "unknown responsibility 'locataire' (one of: tenant, landlord, maintenance_contract, "
        "to_be_assessed)", "edited"),
    "missing legal reference": (
        "wc.cistern_runs", 'legal_reference = "Décret 87-712, annexe, IV-d',
        '# legal_reference = "',
        "missing legal_reference: a tenant responsibility is shown to the tenant",
        'responsibility = "tenant"'),
    "missing English label": (
        "wc.cistern_runs", 'label.en = "The cistern keeps running (flapper seal, float)"\n', "",
        "missing English label (label.en)", "label.fr = "),
    "empty French label": (
        "tap.drips", 'label.fr = "Le robinet goutte ou fuit au pied (joint, clapet)"',
        'label.fr = " "', "missing French label (label.fr)", "edited"),
    "duplicate id": (
        "tap.limescale", 'id = "tap.limescale"', 'id = "tap.drips"',
        "duplicate id 'tap.drips' (already used by problems[", "edited"),
    "deadline zero": (
        "sink.blocked", "deadline_hours = 72", "deadline_hours = 0",
        "deadline_hours must be a positive number of hours, got 0", "edited"),
    "deadline negative": (
        "sink.blocked", "deadline_hours = 72", "deadline_hours = -4",
        "deadline_hours must be a positive number of hours, got -4", "edited"),
    "deadline as text": (
        "sink.blocked", "deadline_hours = 72", 'deadline_hours = "72h"',
        "deadline_hours must be a positive number of hours, got '72h'", "edited"),
    "unknown equipment": (
        "wc.blocked", 'equipment = "wc"', 'equipment = "toilets"',
        "unknown equipment 'toilets'", "edited"),
    "unknown trade": (
        "wc.blocked", 'trade = "plumbing"', 'trade = "plumber"',
        "unknown trade 'plumber'", "edited"),
    "emergency without safety advice": (
        "gas.smell", "safety.fr = ", "# safety.fr = ",
        "missing French safety advice (safety.fr)", "safety.en = "),
    "emergency with a long deadline": (
        "gas.smell", "deadline_hours = 4", "deadline_hours = 48",
        "an emergency must be handled within 24 hours at most, not 48", "edited"),
    "misspelt key": (
        "tap.drips", 'responsibility = "tenant"', 'responsability = "tenant"',
        "unknown key 'responsability'", "edited"),
    "video diagnosis not a boolean": (
        "tap.drips", "video_diagnosis = true", 'video_diagnosis = "yes"',
        "video_diagnosis must be true or false, got 'yes'", "edited"),
    "unknown hazard": (
        "sink.trap_leak", 'hazards = ["water"]', 'hazards = ["flood"]',
        "unknown hazard 'flood'", "edited"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_the_checker_reports_each_mistake_where_it_is(tmp_path, case):
    problem_id, old, new, expected, where = MISTAKES[case]
    broken = _edit(SHIPPED, problem_id, old, new)
    catalogue, issues = check_catalogue(_write(tmp_path, broken))
    assert catalogue is None
    matching = [issue for issue in issues if expected in issue.message]
    assert matching, [issue.message for issue in issues]
    # Edits stay inside the problem's table, so the table starts at the same offset.
    start, _ = _problem_block(SHIPPED, problem_id)
    pointed = new if where == "edited" else where
    expected_line = broken.count("\n", 0, broken.index(pointed, start)) + 1
    assert matching[0].line == expected_line, (matching[0], expected_line)
    name = new.split('"')[1] if case == "duplicate id" else problem_id
    assert f"'{name}'" in matching[0].where


def test_the_emergency_rule_names_the_reason(tmp_path):
    start, end = _problem_block(SHIPPED, "gas.smell")
    block = re.sub(r"^safety\.(fr|en) = .*\n", "", SHIPPED[start:end], flags=re.M)
    _, issues = check_catalogue(_write(tmp_path, SHIPPED[:start] + block + SHIPPED[end:]))
    assert [issue.message for issue in issues] == [
        "missing safety advice, required by the emergency priority and the gas hazard: tell "
        "the tenant what to do first (safety.fr and safety.en)"]


def test_hazards_need_safety_advice_even_when_not_an_emergency(tmp_path):
    start, end = _problem_block(SHIPPED, "railing.loose")
    block = re.sub(r"^safety\.(fr|en) = .*\n", "", SHIPPED[start:end], flags=re.M)
    _, issues = check_catalogue(_write(tmp_path, SHIPPED[:start] + block + SHIPPED[end:]))
    assert len(issues) == 1 and "required by the fall hazard" in issues[0].message
    assert "'railing.loose'" in issues[0].where


def test_equipment_and_pictogram_mistakes(tmp_path):
    text = SHIPPED.replace('places = ["kitchen"]\nlabel.fr = "Évier"',
                           'places = ["cuisine"]\nlabel.fr = "Évier"')
    text = text.replace('pictogram = "tap.svg"', 'pictogram = "robinet.svg"')
    text = text.replace('pictogram = "lift.svg"', 'pictogram = "../lift.svg"')
    _, issues = check_catalogue(_write(tmp_path, text))
    messages = {issue.message: issue for issue in issues}
    assert "unknown place 'cuisine'" in messages
    assert messages["unknown place 'cuisine'"].line == _line_of(text, 'places = ["cuisine"]')
    missing = next(m for m in messages if m.startswith("pictogram file 'robinet.svg' not found"))
    assert messages[missing].line == _line_of(text, 'pictogram = "robinet.svg"')
    assert any("must be a plain SVG file name" in m for m in messages)
    assert len(issues) == 3


def test_a_pictogram_that_is_not_svg_or_has_no_title_is_refused(tmp_path):
    folder = tmp_path / "pictograms"
    folder.mkdir()
    for path in PICTOGRAM_DIR.glob("*.svg"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "tap.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><path></svg>")
    (folder / "sink.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 48 48'><path d='M0 0'/></svg>")
    _, issues = check_catalogue(CATALOGUE_FILE, [folder])
    messages = " | ".join(issue.message for issue in issues)
    assert "pictogram 'tap.svg' is not well-formed SVG" in messages
    assert "pictogram 'sink.svg' has no <title>" in messages


def test_every_mistake_is_reported_at_once(tmp_path):
    broken = SHIPPED
    for case in ("unknown responsibility", "deadline negative", "unknown trade",
                 "misspelt key"):
        problem_id, old, new, _, _ = MISTAKES[case]
        broken = _edit(broken, problem_id, old, new)
    broken = broken.replace('version = "2026.1"', "")
    with pytest.raises(CatalogueError) as error:
        load_catalogue(_write(tmp_path, broken))
    messages = [issue.message for issue in error.value.issues]
    assert len(messages) == 6, messages
    assert any(m.startswith("missing version") for m in messages)
    # The misspelt key is reported, and so is the responsibility it failed to give.
    assert any(m.startswith("unknown key 'responsability'") for m in messages)
    assert any(m.startswith("missing responsibility") for m in messages)
    assert "catalogue.toml:" in str(error.value)


def test_a_file_that_is_not_toml_is_reported_with_its_line(tmp_path):
    broken = SHIPPED.replace('id = "sink.blocked"', 'id = "sink.blocked', 1)
    catalogue, issues = check_catalogue(_write(tmp_path, broken))
    assert catalogue is None and len(issues) == 1
    assert issues[0].message.startswith("not valid TOML")
    assert issues[0].line == _line_of(broken, 'id = "sink.blocked')
    assert check_catalogue(tmp_path / "nowhere.toml")[1][0].message == "file not found"


# -- the command ---------------------------------------------------------------------------------

def test_the_check_command_prints_the_counts(make_app, catalogue):
    app = make_app(plugins=["claims"])
    result = app.test_cli_runner().invoke(args=["claims", "catalogue", "check"])
    assert result.exit_code == 0, result.output
    assert f"catalogue version {catalogue.version} is valid" in result.output
    counts = catalogue.counts()
    assert f"Places:    {len(catalogue.places)} (7 in the dwelling, 7 in the common parts)" \
        in result.output
    assert f"Problems:  {len(catalogue.problems)}" in result.output
    by = counts["by_responsibility"]
    assert (f"{by[Responsibility.TENANT]} tenant, {by[Responsibility.LANDLORD]} landlord, "
            f"{by[Responsibility.MAINTENANCE_CONTRACT]} maintenance contract, "
            f"{by[Responsibility.TO_BE_ASSESSED]} to be assessed") in result.output


def test_the_check_command_lists_the_problems_and_fails(make_app, tmp_path):
    broken = _edit(SHIPPED, "wc.blocked", 'equipment = "wc"', 'equipment = "toilets"')
    broken = _edit(broken, "sink.blocked", "deadline_hours = 72", "deadline_hours = -1")
    path = _write(tmp_path, broken)
    app = make_app(plugins=["claims"])
    result = app.test_cli_runner().invoke(args=["claims", "catalogue", "check", str(path)])
    assert result.exit_code == 1
    assert "2 problem(s) found, the catalogue cannot be used" in result.output
    line = _line_of(broken, 'equipment = "toilets"')
    assert f"catalogue.toml:{line}: problems[" in result.output
    assert "'wc.blocked': unknown equipment 'toilets'" in result.output
    assert "'sink.blocked': deadline_hours must be a positive number of hours, got -1" \
        in result.output


def test_the_command_exists_only_with_the_plugin(make_app):
    app = make_app(plugins=[])
    result = app.test_cli_runner().invoke(args=["claims", "catalogue", "check"])
    assert result.exit_code != 0 and "No such command 'claims'" in result.output


def test_the_documentation_gives_the_shipped_counts(catalogue, make_app):
    doc = (Path(__file__).resolve().parents[3] / "docs" / "claims.md").read_text(encoding="utf-8")
    app = make_app(plugins=["claims"])
    output = app.test_cli_runner().invoke(args=["claims", "catalogue", "check"]).output
    summary = output.split(": ", 1)[1]  # the path differs; the counts must not
    assert summary in doc
    assert f"{len(catalogue.equipment)} pieces of\nequipment" in doc
    assert f"and {len(catalogue.problems)} problems" in doc

"""`contacts`: the operator's contacts file is validated; each problem names the key and the fix."""

from __future__ import annotations

import json

import yaml

from runbooks import contacts
from runbooks.contacts import EXAMPLE_FILE, validate


def real_document() -> dict:
    document = yaml.safe_load(EXAMPLE_FILE.read_text())
    for i, entry in enumerate(document["contacts"].values()):
        entry.update(name=f"Person {i}", phone=f"+4420794600{i:02d}", email=f"person{i}@relay.test")
    return document


def test_the_shipped_example_is_well_formed_but_refused_as_real():
    document = yaml.safe_load(EXAMPLE_FILE.read_text())
    assert validate(document, allow_examples=True) == []
    problems = validate(document)
    assert problems and all("still the example value" in p for p in problems)


def test_a_filled_in_file_passes_and_prints_the_escalation(tmp_path, capsys):
    path = tmp_path / "contacts.yaml"
    path.write_text(yaml.safe_dump(real_document()))
    assert contacts.main(["--file", str(path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["details"]["escalation"][0]["contact"] == "incident_commander"


def test_a_wrong_phone_names_the_key_and_the_fix(tmp_path, capsys):
    document = real_document()
    document["contacts"]["database_admin"]["phone"] = "555-1234"
    path = tmp_path / "contacts.yaml"
    path.write_text(yaml.safe_dump(document))
    assert contacts.main(["--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert "contacts.database_admin.phone is '555-1234': expected an E.164 number" in err


def test_escalation_to_an_unknown_contact_is_refused():
    document = real_document()
    document["escalation"][1]["contact"] = "nobody"
    assert validate(document) == [
        "escalation[1].contact is 'nobody': not a key of contacts. Fix: use one of "
        "database_admin, devops_lead, incident_commander, security_team"
    ]


def test_a_missing_file_says_how_to_create_it(tmp_path, capsys):
    assert contacts.main(["--file", str(tmp_path / "contacts.yaml")]) == 1
    assert "contacts.example.yaml" in capsys.readouterr().err

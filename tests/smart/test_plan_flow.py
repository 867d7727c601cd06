"""Launch → callback → plan, in-process, with the real mapping and model on synthetic patients.

The FHIR front of the authorization-server fixture serves the synthetic patients from memory; the
e2e test (`test_e2e_chromium.py`) does the same against the real FHIR server in a real browser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from tests.smart.conftest import Browser
from tests.smart.test_launch_flow import assert_page, sign_in
from tests.support.smart_auth_server import SmartAuthServer, launch_url
from tests.support.synthetic_patients import patient_id

NS = "{http://www.w3.org/2000/svg}"
APP_CONTEXT = '{"view":"salvage-plan","assessmentDate":"%s","hookInstance":"hi-1"}'


def plan_for(browser: Browser, auth: SmartAuthServer, name: str, day: str,
             **kw) -> tuple[str, ET.Element]:
    launch = auth.register_launch(patient_id(name), app_context=APP_CONTEXT % day, **kw)
    hop = browser.follow(launch_url("", auth.fhir_base, launch))
    assert_page(hop, 200)
    svg_text = re.search(r'<svg [^>]*class="chart lesion-timeline".*?</svg>', hop.body, re.S)
    assert svg_text, "no lesion timeline"
    return hop.body, ET.fromstring(svg_text.group(0))


def lesion_ids(timeline: ET.Element) -> list[str]:
    return [g.get("data-lesion") for g in timeline.iter(NS + "g")
            if g.get("class") == "lesion-series"]


def marker_kinds(timeline: ET.Element) -> list[str]:
    return [g.get("data-kind") for g in timeline.iter(NS + "g")
            if g.get("class") == "treatment-marker"]


def test_srs_in_field_patient(browser, auth_server):
    html, timeline = plan_for(browser, auth_server, "progressive-after-srs-in-field", "2024-02-10",
                              need_patient_banner=True)
    assert "Assessment date <strong>2024-02-10</strong>" in html  # from appContext
    assert 'data-situation="local-progression-after-srs-in-field"' in html
    assert "Halina ZIELINSKA" in html  # the banner the EHR asked for
    assert lesion_ids(timeline) == ["lesion-A"]
    assert marker_kinds(timeline) == ["srs"]
    assert "SRS 20 Gy/1 fx" in html
    assert 'data-option="' in html and "Dose regimens for" in html
    assert 'class="gpa-marker"' in html
    # All FHIR reads carried the bearer token and stayed in the patient's compartment.
    assert auth_server.fhir_requests and all(r["bearer"] and r["status"] == 200
                                             for r in auth_server.fhir_requests)


def test_disseminated_patient_shows_five_lesions_and_wbrt(browser, auth_server):
    html, timeline = plan_for(browser, auth_server, "disseminated-after-wbrt", "2024-03-05")
    assert lesion_ids(timeline) == [f"lesion-L{i}" for i in range(1, 6)]
    assert marker_kinds(timeline) == ["wbrt"]
    assert "WBRT 30 Gy/10 fx" in html
    assert "Halina" not in html  # another patient; banner left to the EHR


def test_without_app_context_the_plan_is_for_today(browser, auth_server):
    from datetime import date

    launch = auth_server.register_launch(patient_id("stable-bcbm-after-srs"))
    hop = browser.follow(launch_url("", auth_server.fhir_base, launch))
    assert_page(hop, 200, f"Assessment date <strong>{date.today().isoformat()}</strong>")


def test_revoked_token_ends_the_session(browser, auth_server, app):
    plan_url = sign_in(browser, auth_server).location
    auth_server.revoke_all()
    assert_page(browser.get(plan_url), 401, "Your session has expired")
    assert app.extensions["salvage_cds_smart"].count()["sessions"] == 0


def test_fhir_server_failure_gives_a_clear_page(browser, auth_server):
    plan_url = sign_in(browser, auth_server).location
    auth_server.fhir_status = 503
    page = browser.get(plan_url)
    assert_page(page, 502, "could not give the patient", "failed (503)")
    assert "cannot be reached" not in page.body  # it answered: the page names the actual cause


def test_unknown_patient(browser, auth_server):
    launch = auth_server.register_launch("no-such-patient")
    hop = browser.follow(launch_url("", auth_server.fhir_base, launch))
    assert_page(hop, 404, "Patient not found")

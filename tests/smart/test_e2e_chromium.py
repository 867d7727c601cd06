"""End to end in headless Chromium: the real service, the real FHIR server, a SMART auth server.

    Chromium ──► service (gunicorn, 2 workers)  /smart/launch?iss=…&launch=…
             ──► auth fixture /authorize (auto-approve) ──► service /smart/callback
             ──► /smart/plan/<handle> (one URL per launch)
    service ──► auth fixture: /fhir/.well-known/smart-configuration, /token, /fhir/* (bearer
                checked, then proxied to the Medplum FHIR server holding the synthetic patients)

Chromium is Debian's (`apt-get install -y chromium`), driven by Python playwright through
`executable_path` (no `playwright install`). Without it the test is skipped locally and FAILS in CI
(env `CI` set). `SALVAGE_CDS_UPDATE_SCREENSHOT=1` also writes docs/smart-plan.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, LiveService, start_live_service, stop_live_service
from tests.support.smart_auth_server import SmartAuthServer, launch_url
from tests.support.synthetic_patients import load_bundle, patient_id

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHROMIUM = os.environ.get("SALVAGE_CDS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = ROOT / "docs" / "smart-plan.png"
PHONE_SCREENSHOT = ROOT / "docs" / "smart-plan-phone.png"
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": 1280, "phone": 390, "small phone": 320}
SCREENSHOT_PATIENT = "progressive-after-wbrt-limited"
PLAN_URL = re.compile(r"/smart/plan/[0-9a-f]{32}")
APP_CONTEXT = '{"view":"salvage-plan","assessmentDate":"%s","hookInstance":"e2e-%s"}'


@dataclass
class Stack:
    service: LiveService
    auth: SmartAuthServer
    fhir_server: Any

    def __iter__(self) -> Iterator[Any]:
        return iter((self.service, self.auth))


def precreate_database(path: Path) -> None:
    """Create the service's tables once before gunicorn's workers start: two workers creating
    them at the same moment on a fresh SQLite file can fail ("table feedback already exists")."""
    from cds_service.smart.session_store import SmartStore
    from cds_service.storage.feedback_store import FeedbackStore

    store = FeedbackStore.open(f"sqlite:///{path}")
    try:
        SmartStore.open(store.engine, None)
    finally:
        store.close()


def chromium_executable() -> str:
    path = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if path and os.access(path, os.X_OK):
        return path
    message = (f"Chromium not found at {CHROMIUM}: install Debian's package "
               "(apt-get install -y chromium) or set SALVAGE_CDS_CHROMIUM")
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def stack(fhir_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("smart-e2e")
    precreate_database(tmp / "live.sqlite3")
    auth = SmartAuthServer(fhir_upstream=fhir_server.base_url).start()
    # The SMART issuer allowlist is empty by default: the service may launch with this one only.
    service = start_live_service(tmp, workers=2,
                                 env={"SALVAGE_CDS_SMART_ISSUER_ALLOWLIST": auth.base_url})
    try:
        yield Stack(service, auth, fhir_server)
    finally:
        auth.stop()
        stop_live_service(service.process)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = chromium_executable()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a new, empty user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="UTC")
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    chromium.clear_cookies()
    tab = chromium.new_page()
    yield tab
    tab.close()


def open_plan(page: Any, stack: Stack, name: str, day: str) -> Any:
    service, auth = stack
    # Load just this patient: the synthetic bundles reuse some resource ids across patients
    # (e.g. Condition/brain-mets), so they cannot all live in one FHIR server at once.
    stack.fhir_server.load_bundle(load_bundle(name))
    launch = auth.register_launch(patient_id(name), app_context=APP_CONTEXT % (day, name),
                                  need_patient_banner=True)
    response = page.goto(launch_url(service.base_url, auth.fhir_base, launch),
                         wait_until="load", timeout=60_000)
    assert response is not None
    assert PLAN_URL.fullmatch(page.url.removeprefix(service.base_url)), page.content()[:2000]
    assert response.status == 200, page.content()[:2000]
    return response


def timeline_facts(page: Any) -> tuple[list[str], list[str]]:
    lesions = page.eval_on_selector_all(
        "svg.lesion-timeline g.lesion-series", "els => els.map(e => e.dataset.lesion)")
    markers = page.eval_on_selector_all(
        "svg.lesion-timeline g.treatment-marker", "els => els.map(e => e.dataset.kind)")
    return lesions, markers


def test_ehr_launch_renders_the_plan_in_chromium(page, stack, tmp_path):
    service, auth = stack
    open_plan(page, stack, SCREENSHOT_PATIENT, "2024-01-25")

    assert page.locator("h1").inner_text().startswith("Salvage plan")
    assert "2024-01-25" in page.locator("p.meta").inner_text()
    assert page.locator("[data-situation]").get_attribute("data-situation") == \
        "local-progression-after-wbrt"
    assert page.locator("ol.options > li").count() >= 1
    assert page.locator("#gpa table.gpa-factors tbody tr").count() >= 5
    assert page.locator("svg.gpa-bar g.gpa-marker").count() == 1

    lesions, markers = timeline_facts(page)
    assert lesions == ["lesion-B", "lesion-C"]
    assert markers == ["wbrt"]
    assert page.locator("svg.lesion-timeline .treatment-label").text_content() == "WBRT 30 Gy/10 fx"
    assert page.locator("svg.lesion-timeline line.progression-line").count() == 1
    # The chart is drawn (has a size), and its numbers are also in tables.
    box = page.locator("svg.lesion-timeline").bounding_box()
    assert box and box["width"] > 600 and box["height"] > 300
    assert page.locator("table.measurements tbody tr").count() == 6

    # The access token is nowhere in the browser: not in the page, the URL or a cookie.
    token = next(iter(auth.tokens))
    assert token not in page.content() and token not in page.url
    cookies = page.context.cookies()
    assert all(token not in c["value"] for c in cookies)
    session = next(c for c in cookies if c["name"] == "salvage_smart_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    # The service read the real FHIR server through the bearer-checking front.
    assert auth.fhir_requests and all(r["bearer"] and r["status"] == 200
                                      for r in auth.fhir_requests)

    shot = tmp_path / "smart-plan.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("SALVAGE_CDS_UPDATE_SCREENSHOT") == "1":
        # The documentation image: from the banner to the end of the GPA section.
        page.evaluate("window.scrollTo(0, 0)")
        bottom = page.evaluate(
            "(() => { const r = document.querySelector('#gpa').getBoundingClientRect();"
            " return r.bottom + window.scrollY; })()")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": bottom + 16})


@pytest.mark.parametrize(("name", "day", "lesions", "markers"), [
    ("progressive-after-srs-in-field", "2024-02-10", ["lesion-A"], ["srs"]),
    ("disseminated-after-wbrt", "2024-03-05", [f"lesion-L{i}" for i in range(1, 6)], ["wbrt"]),
])
def test_other_patients(page, stack, name, day, lesions, markers):
    open_plan(page, stack, name, day)
    assert timeline_facts(page) == (lesions, markers)


def test_denied_consent_shows_a_clear_page(page, stack):
    service, auth = stack
    launch = auth.register_launch(patient_id(SCREENSHOT_PATIENT), deny=True)
    response = page.goto(launch_url(service.base_url, auth.fhir_base, launch), wait_until="load")
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "Access was not granted"
    assert "Traceback" not in page.content()


def test_plan_prints_without_navigation(page, stack):
    open_plan(page, stack, "progressive-after-srs-in-field", "2024-02-10")
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    assert page.locator("svg.lesion-timeline").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF"


def test_standalone_launch_from_the_start_form(page, stack):
    """The start form, filled and submitted in Chromium: the CSP's form-action lets the redirect
    to the (allowlisted) authorization server through, and the plan opens."""
    service, auth = stack
    stack.fhir_server.load_bundle(load_bundle("progressive-after-srs-in-field"))
    auth.standalone_patient = patient_id("progressive-after-srs-in-field")
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.goto(service.url("/smart/"), wait_until="load")
    page.fill("#iss", auth.fhir_base)
    with page.expect_navigation(url=re.compile(r".*/smart/plan/[0-9a-f]{32}$"), timeout=60_000):
        page.click("button[type=submit]")
    assert blocked == []
    assert page.locator("h1").inner_text().startswith("Salvage plan")
    assert page.locator("[data-situation]").get_attribute("data-situation") == \
        "local-progression-after-srs-in-field"


def test_two_tabs_keep_their_own_patient_after_reload(chromium, stack):
    chromium.clear_cookies()
    first, second = chromium.new_page(), chromium.new_page()
    try:
        open_plan(first, stack, "progressive-after-srs-in-field", "2024-02-10")
        open_plan(second, stack, "disseminated-after-wbrt", "2024-03-05")
        assert first.url != second.url
        first.reload(wait_until="load")
        second.reload(wait_until="load")
        assert timeline_facts(first) == (["lesion-A"], ["srs"])
        assert timeline_facts(second)[0] == [f"lesion-L{i}" for i in range(1, 6)]
        assert "Halina ZIELINSKA" in first.locator("header.banner").inner_text()
        assert "Halina" not in second.locator("header.banner").inner_text()
    finally:
        first.close()
        second.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.x A/AA rules on the page as rendered (evaluated through the DevTools
    protocol, which the page's script-free CSP does not govern)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run (cd tests/axe && npm ci)", pytrace=False)
    page.evaluate(f"() => {{ {AXE.read_text()}\n }}")
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}))")
    return result


def page_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no horizontal scroll)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def smallest_chart_text_px(page: Any) -> float:
    """The smallest rendered font size (CSS px) of the visible charts' text."""
    return page.evaluate("""() => {
        const sizes = [];
        for (const svg of document.querySelectorAll('svg.chart')) {
            if (!svg.getClientRects().length) continue;  // the other layout, not displayed
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            for (const t of svg.querySelectorAll('text'))
                sizes.push(parseFloat(t.getAttribute('font-size')) * scale);
        }
        return Math.min(...sizes);
    }""")


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_plan_is_accessible_and_reflows(page, stack, width):
    page.set_viewport_size({"width": width, "height": 900})
    open_plan(page, stack, SCREENSHOT_PATIENT, "2024-01-25")
    assert axe_violations(page) == []
    assert page_overflow(page) <= 0
    assert smallest_chart_text_px(page) >= 9.5
    phone = width < 640
    assert page.locator("svg.lesion-timeline-phone").is_visible() is phone
    assert page.locator("svg.lesion-timeline").is_visible() is not phone
    if width == WIDTHS["phone"] and os.environ.get("SALVAGE_CDS_UPDATE_SCREENSHOT") == "1":
        bottom = page.evaluate(
            "(() => { const r = document.querySelector('#timeline').getBoundingClientRect();"
            " return r.bottom + window.scrollY; })()")
        page.screenshot(path=str(PHONE_SCREENSHOT), full_page=True,
                        clip={"x": 0, "y": 0, "width": width, "height": bottom + 16})


@pytest.mark.parametrize("width", [1280, 320])
def test_start_and_error_pages_are_accessible(page, stack, width):
    service, auth = stack
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(service.url("/smart/"), wait_until="load")
    assert axe_violations(page) == []
    assert page_overflow(page) <= 0
    page.goto(service.url("/smart/plan/" + "0" * 32), wait_until="load")
    assert page.locator("h1").inner_text() == "Your session has expired"
    assert axe_violations(page) == []
    assert page_overflow(page) <= 0

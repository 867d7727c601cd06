import pytest

from cds_service.fhir.allowlist import FhirAllowlist, Origin, ServerNotAllowed

ALLOW = FhirAllowlist.from_config(
    ("https://ehr.example.org/fhir", "http://127.0.0.1:*", "http://localhost:8080/r4",
     "http://[::1]:*/fhir"),
    allow_insecure_loopback=True,
)


@pytest.mark.parametrize("url", [
    "https://ehr.example.org/fhir",
    "https://ehr.example.org/fhir/",
    "https://EHR.example.org:443/fhir/r4",
    "http://127.0.0.1:5555/fhir",
    "http://localhost:8080/r4/Patient",
    "http://[::1]:4000/fhir",
])
def test_allowed(url: str) -> None:
    ALLOW.check(url)


@pytest.mark.parametrize(("url", "reason"), [
    ("https://ehr.example.org/fhirx", "allowlist"),  # prefix must end at a path segment
    ("https://ehr.example.org.evil.com/fhir", "allowlist"),
    ("https://ehr.example.org:8443/fhir", "allowlist"),
    ("http://ehr.example.org/fhir", "https is required"),
    ("https://user:pw@ehr.example.org/fhir", "credentials"),
    ("file:///etc/passwd", "only http"),
    ("http://169.254.169.254/latest", "https is required"),
    ("https://10.0.0.5/fhir", "allowlist"),
    ("http://localhost:8081/r4", "allowlist"),
    ("http://[::1]:4000/other", "allowlist"),
    ("http://[::1]:99999/", "valid URL"),
    # issue 16, item 1: dot segments climb out of the allowlisted path prefix on the server
    ("https://ehr.example.org/fhir/../admin", "dot segment"),
    ("https://ehr.example.org/fhir/%2e%2e/admin", "dot segment"),
    ("https://ehr.example.org/fhir/%2E./admin", "dot segment"),
    ("https://ehr.example.org/fhir/./Patient", "dot segment"),
    ("http://localhost:8080/r4/%2fadmin", "separator"),
    ("http://localhost:8080/r4/..%5cadmin", "separator"),
])
def test_refused(url: str, reason: str) -> None:
    with pytest.raises(ServerNotAllowed, match=reason):
        ALLOW.check(url)


def test_insecure_loopback_can_be_turned_off() -> None:
    strict = FhirAllowlist.from_config(("http://127.0.0.1:*",), allow_insecure_loopback=False)
    with pytest.raises(ServerNotAllowed, match="https"):
        strict.check("http://127.0.0.1/fhir")


def test_paging_links_must_stay_below_the_base() -> None:
    base = Origin.parse("https://ehr.example.org/fhir")
    assert ALLOW.same_server(base, "https://ehr.example.org/fhir/Observation?page=2")
    assert not ALLOW.same_server(base, "https://attacker.example.com/fhir?page=2")
    assert not ALLOW.same_server(base, "https://ehr.example.org/other")
    # a `next` link with dot segments (from the server or from the caller's own prefetch Bundle)
    assert not ALLOW.same_server(base, "https://ehr.example.org/fhir/../admin/Observation")
    assert not ALLOW.same_server(base, "https://ehr.example.org/fhir/%2E%2E/admin")


def test_a_dotted_name_is_not_a_dot_segment() -> None:
    ALLOW.check("https://ehr.example.org/fhir/r4.0/Patient/a.b")
    ALLOW.check("https://ehr.example.org/fhir/...")  # three dots are a name


def test_per_client_allowlist_entries_are_held_to_the_same_rule() -> None:
    with pytest.raises(ServerNotAllowed, match="dot segment"):
        Origin.parse("https://ehr.example.org/fhir/../", allow_any_port=True)

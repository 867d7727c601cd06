import pytest

from cds_service.config import LOOPBACK_FHIR_ALLOWLIST, ServiceConfig


def test_embedded_defaults_are_secure_and_local() -> None:
    config = ServiceConfig()
    assert config.auth_required is True
    assert config.fhir_allowlist == LOOPBACK_FHIR_ALLOWLIST
    assert config.database_url.startswith("sqlite:///")


def test_environment_overrides_with_prefix() -> None:
    config = ServiceConfig.from_env({
        "SALVAGE_CDS_DATABASE_URL": "postgresql+psycopg://db/cds",
        "SALVAGE_CDS_FHIR_ALLOWLIST": "https://ehr.example.org/fhir, https://b.example.org",
        "SALVAGE_CDS_AUTH_REQUIRED": "true",
        "SALVAGE_CDS_FHIR_MAX_PAGES": "3",
        "SALVAGE_CDS_FHIR_READ_TIMEOUT_S": "2.5",
        "UNRELATED": "x",
    })
    assert config.database_url == "postgresql+psycopg://db/cds"
    assert config.fhir_allowlist == ("https://ehr.example.org/fhir", "https://b.example.org")
    assert config.auth_required is True
    assert config.fhir_max_pages == 3
    assert config.fhir_read_timeout_s == 2.5


def test_keyword_overrides_win_over_environment() -> None:
    config = ServiceConfig.from_env({"SALVAGE_CDS_FHIR_MAX_PAGES": "3"}, fhir_max_pages=7)
    assert config.fhir_max_pages == 7


@pytest.mark.parametrize(("name", "value"), [
    ("SALVAGE_CDS_AUTH_REQUIRED", "maybe"),
    ("SALVAGE_CDS_FHIR_MAX_PAGES", "ten"),
])
def test_unreadable_environment_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        ServiceConfig.from_env({name: value})


def test_the_environment_cannot_turn_authentication_off() -> None:
    """Only `serve --dev` does, loudly (issue 16, item 7: the variable did it silently)."""
    with pytest.raises(ValueError, match="only by `salvage-cds serve --dev`"):
        ServiceConfig.from_env({"SALVAGE_CDS_AUTH_REQUIRED": "false"})
    assert ServiceConfig.from_env({}, auth_required=False).auth_required is False  # --dev's way


def test_a_random_secret_key_is_taken_and_a_weak_one_refused_with_the_reason() -> None:
    import secrets

    key = secrets.token_hex(32)
    assert ServiceConfig.from_env({"SALVAGE_CDS_SECRET_KEY": key}).secret_key == key
    assert ServiceConfig().secret_key is None  # unset: a random key kept in the database
    with pytest.raises(ValueError, match="SALVAGE_CDS_SECRET_KEY: a placeholder"):
        ServiceConfig.from_env({"SALVAGE_CDS_SECRET_KEY": "change-me-to-64-random-hex-characters"})
    with pytest.raises(ValueError, match="5 characters; at least 32"):
        ServiceConfig(secret_key="short")

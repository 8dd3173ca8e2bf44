from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings

GOOD_KEY = base64.urlsafe_b64encode(b"x" * 32).decode()
PROD = {
    "GATEWAY_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "PHONE_HASH_KEY": "p" * 40,
    "DATA_KEY": GOOD_KEY,
    "SMS_PROVIDER": "africastalking",
    "AT_USERNAME": "gateway",
    "AT_API_KEY": "key",
    "AT_WEBHOOK_TOKEN": "t" * 32,
    "DATABASE_URL": "postgresql+psycopg://u@db/gateway",
}


def test_development_generates_secrets_once_and_keeps_them(tmp_path: Path) -> None:
    first = load_settings({}, instance_path=str(tmp_path))
    second = load_settings({}, instance_path=str(tmp_path))
    assert first.secret_key == second.secret_key
    assert first.data_key == second.data_key
    assert first.phone_hash_key == second.phone_hash_key
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
    assert first.database_url == f"sqlite:///{tmp_path / 'gateway.db'}"
    assert first.phone_regions == ("ML", "NE", "MR")


def test_production_starts_with_every_secret_given(tmp_path: Path) -> None:
    settings = load_settings(PROD, instance_path=str(tmp_path))
    assert settings.is_production
    assert not (tmp_path / "dev-secrets.json").exists()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"PHONE_HASH_KEY": None}, "PHONE_HASH_KEY"),
        ({"DATA_KEY": None}, "DATA_KEY"),
        ({"AT_WEBHOOK_TOKEN": None}, "AT_WEBHOOK_TOKEN"),
        ({"SMS_PROVIDER": "twilio"}, "TWILIO_ACCOUNT_SID"),
        ({"SMS_PROVIDER": "console"}, "SMS_PROVIDER"),
        ({"SMS_PROVIDER": "carrier pigeon"}, "SMS_PROVIDER"),
        ({"SMS_PROVIDER": "kannel"}, "KANNEL_SEND_URL"),
        ({"SMS_PROVIDER": "android"}, "ANDROID_API_URL"),
        ({"SMS_ROUTES": "orange=kannel"}, "SMS_ROUTES"),
        ({"SMS_ROUTES": "orange"}, "SMS_ROUTES"),
        ({"OPS_PHONES": "76123456"}, "OPS_PHONES"),
        ({"ANDROID_PING_MAX": "0"}, "ANDROID_PING_MAX"),
        ({"USSD_RESUME_MINUTES": "-1"}, "USSD_RESUME_MINUTES"),
        ({"USSD_RESUME_MINUTES": "soon"}, "USSD_RESUME_MINUTES"),
        ({"DATA_KEY": "not-a-fernet-key"}, "DATA_KEY"),
        ({"DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE"),
        ({"PHONE_REGIONS": "Mali"}, "PHONE_REGIONS"),
        ({"GATEWAY_ENV": "staging"}, "GATEWAY_ENV"),
        ({"SMS_FALLBACK_PROVIDER": "africastalking"}, "SMS_FALLBACK_PROVIDER"),
        ({"PHONE_HASH_KEY_VERSION": "two"}, "PHONE_HASH_KEY_VERSION"),
        ({"TRUSTED_PROXIES": "all"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(
    tmp_path: Path, change: dict[str, str | None], named: str
) -> None:
    env = {k: v for k, v in {**PROD, **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=named):
        load_settings(env, instance_path=str(tmp_path))


def test_twilio_in_production_needs_its_auth_token(tmp_path: Path) -> None:
    env = {
        **PROD,
        "SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_FROM": "+15005550006",
    }
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        load_settings(env, instance_path=str(tmp_path))
    env["TWILIO_AUTH_TOKEN"] = "a" * 32
    # Signatures and status callbacks depend on the public URL.
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        load_settings(env, instance_path=str(tmp_path))
    env["PUBLIC_BASE_URL"] = "https://gateway.example.org"
    assert load_settings(env, instance_path=str(tmp_path))


KANNEL = {
    "KANNEL_SEND_URL": "http://127.0.0.1:13013/cgi-bin/sendsms",
    "KANNEL_USERNAME": "gateway",
    "KANNEL_PASSWORD": "pw",
}


def test_sms_provider_is_a_list_of_channels_the_first_the_default(tmp_path: Path) -> None:
    env = {
        **PROD,
        **KANNEL,
        "KANNEL_WEBHOOK_TOKEN": "k" * 32,
        "SMS_PROVIDER": "kannel-orange, kannel-moov,africastalking",
        "SMS_ROUTES": "orange=kannel-orange,moov=kannel-moov,*=africastalking",
    }
    settings = load_settings(env, instance_path=str(tmp_path))
    assert settings.sms_provider == "kannel-orange"
    assert settings.channels == ("kannel-orange", "kannel-moov", "africastalking")
    assert settings.providers == {"kannel", "africastalking"}
    assert settings.sms_routes == (
        ("orange", "kannel-orange"),
        ("moov", "kannel-moov"),
        ("*", "africastalking"),
    )


def test_kannel_in_production_needs_its_webhook_token(tmp_path: Path) -> None:
    env = {**PROD, **KANNEL, "SMS_PROVIDER": "kannel"}
    with pytest.raises(ConfigError, match="KANNEL_WEBHOOK_TOKEN"):
        load_settings(env, instance_path=str(tmp_path))
    assert load_settings({**env, "KANNEL_WEBHOOK_TOKEN": "k" * 32}, instance_path=str(tmp_path))


@pytest.mark.parametrize(
    ("provider", "named"),
    [("carrier-pigeon", "is not a provider"), ("console-two", "has no channel variants")],
)
def test_the_app_refuses_a_channel_the_registry_does_not_have(
    tmp_path: Path, provider: str, named: str
) -> None:
    from gateway import create_app

    with pytest.raises(ConfigError, match=f"SMS_PROVIDER: .*{named}"):
        create_app({"SMS_PROVIDER": provider, "GATEWAY_INSTANCE_PATH": str(tmp_path)})

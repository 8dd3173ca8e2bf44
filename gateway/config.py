"""Settings read from the environment (see CONTRACT.md and the README's table).

Development gets working defaults: secrets are generated once and kept under
`instance/`, so a newcomer runs the gateway with nothing to configure. Production
refuses to start on those development secrets or without the webhook secrets of the
provider it is configured with.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gateway.domain.text import LANGUAGES

# Which providers exist is the registry's business (handlers/registry.py, checked by
# create_app); here a channel name is only checked for its shape. A channel is a
# provider, or a provider and a variant: `kannel-orange` is Kannel's `orange` SMSC (its
# smsc-id), so one smsbox can carry several operators' binds.
_CHANNEL = re.compile(r"(?P<provider>[a-z]+)(?:-(?P<variant>[a-z0-9_]{1,12}))?")
ENVIRONMENTS = ("development", "production")
# `queue`: an SMS webhook stores and answers, workers handle (production's way);
# `inline`: the webhook handles the stored SMS before answering (tests, one-process use).
SMS_HANDLING = ("queue", "inline")
_SECRET_NAMES = ("SECRET_KEY", "PHONE_HASH_KEY", "DATA_KEY")
DEV_SECRETS_FILE = "dev-secrets.json"


# Operator and aggregator USSD gateways: the request's field names (session, phone, the
# input), how the answer says "continue" or "end", and what the input holds: the whole
# `*`-joined path (`path`) or only the latest answer (`latest`, as Huawei-based
# gateways, whose Freeflow header the `freeflow` preset answers with, send it).
USSD_PRESETS: dict[str, tuple[tuple[str, str, str], str, str]] = {
    "africastalking": (("sessionId", "phoneNumber", "text"), "prefix", "path"),  # CON / END
    "freeflow": (("sessionId", "msisdn", "ussdString"), "freeflow", "latest"),  # FC / FB
}
USSD_ANSWERS = ("prefix", "freeflow")
USSD_INPUTS = ("path", "latest")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    phone_hash_key: str
    data_key: str
    env: str = "development"
    sms_provider: str = "console"
    # SMS_PROVIDER's channels after the first (the default), in failover order.
    sms_extra_channels: tuple[str, ...] = ()
    sms_fallback_provider: str | None = None
    sms_handling: str = "queue"
    # (operator, channel) pairs from SMS_ROUTES, in order; operator `*` matches any.
    sms_routes: tuple[tuple[str, str], ...] = ()
    at_username: str | None = None
    at_api_key: str | None = None
    at_sender_id: str | None = None
    at_webhook_token: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    kannel_send_url: str | None = None
    kannel_username: str | None = None
    kannel_password: str | None = None
    kannel_from: str | None = None
    kannel_smsc: str | None = None
    kannel_webhook_token: str | None = None
    kannel_dlr_base_url: str | None = None
    android_api_url: str | None = None
    android_username: str | None = None
    android_password: str | None = None
    android_signing_key: str | None = None
    android_ping_max: dt.timedelta = dt.timedelta(minutes=15)
    ops_phones: tuple[str, ...] = ()
    ussd_fields: tuple[str, str, str] = ("sessionId", "phoneNumber", "text")
    ussd_answer: str = "prefix"
    # `latest`: the gateway keeps each session's path itself (services.intake.ussd_input);
    # the optional field of the request's sequence number makes a resend idempotent.
    ussd_input: str = "path"
    ussd_step_field: str | None = None
    ussd_webhook_token: str | None = None
    # How long a report cut off mid-way is offered to the next call (0: never).
    ussd_resume: dt.timedelta = dt.timedelta(minutes=15)
    twilio_webhook_key: str | None = None
    public_base_url: str | None = None
    trusted_proxies: int = 0
    default_language: str = "fr"
    phone_regions: tuple[str, ...] = ("ML", "NE", "MR")
    console_sms_file: str | None = None
    phone_hash_key_version: int = 1
    phone_hash_key_previous: str | None = None
    data_key_previous: str | None = None
    instance_path: str = "instance"
    dev_secrets: frozenset[str] = field(default_factory=frozenset)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def channels(self) -> tuple[str, ...]:
        """Every configured channel, the default first, then in failover order."""
        names = [self.sms_provider, *self.sms_extra_channels, self.sms_fallback_provider]
        return tuple(dict.fromkeys(n for n in names if n))

    @property
    def providers(self) -> frozenset[str]:
        return frozenset(provider_of(c) for c in self.channels)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        known = {k: v for k, v in overrides.items() if k in self.__dataclass_fields__}
        extra = {k: v for k, v in overrides.items() if k not in self.__dataclass_fields__}
        return replace(self, **known, extra={**self.extra, **extra})


def provider_of(channel: str) -> str:
    """The provider of a channel name (`kannel-orange` → `kannel`)."""
    return channel.split("-", 1)[0]


def variant_of(channel: str) -> str | None:
    """The variant of a channel name (`kannel-orange` → `orange`), None without one."""
    return channel.split("-", 1)[1] if "-" in channel else None


def _channel(name: str, raw: str) -> str:
    value = raw.strip().lower()
    match = _CHANNEL.fullmatch(value)
    if not match:
        raise ConfigError(f"{name}: {value!r} is not a channel name (such as kannel-orange)")
    return value


def _channels(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("SMS_PROVIDER") or "console"
    names = tuple(dict.fromkeys(_channel("SMS_PROVIDER", n) for n in raw.split(",") if n.strip()))
    if not names:
        raise ConfigError("SMS_PROVIDER names no channel")
    return names


def _routes(env: Mapping[str, str], channels: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """SMS_ROUTES `orange=kannel-orange,moov=kannel-moov,*=android`: each channel named
    must be one of SMS_PROVIDER's."""
    raw = env.get("SMS_ROUTES") or ""
    routes = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        operator, sep, channel = item.partition("=")
        operator = operator.strip().lower()
        if not sep or not operator or not re.fullmatch(r"[a-z0-9*]+", operator):
            raise ConfigError(f"SMS_ROUTES: {item!r} is not operator=channel")
        name = _channel("SMS_ROUTES", channel)
        if name not in channels:
            raise ConfigError(f"SMS_ROUTES: channel {name!r} is not in SMS_PROVIDER")
        routes.append((operator, name))
    return tuple(routes)


def _phones(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name) or ""
    phones = tuple(p.strip() for p in raw.split(",") if p.strip())
    if any(not re.fullmatch(r"\+[1-9]\d{5,14}", p) for p in phones):
        raise ConfigError(f"{name} must be E.164 numbers separated by commas (+22376123456)")
    return phones


@dataclass(frozen=True)
class UssdConvention:
    fields: tuple[str, str, str]  # session, phone, input
    answer: str
    input: str
    step_field: str | None


def _ussd(env: Mapping[str, str]) -> UssdConvention:
    """USSD_PRESET, with USSD_FIELDS (`session=SID,phone=MSISDN,text=INPUT,step=SEQ`,
    any of them), USSD_ANSWER (`prefix` or `freeflow`) and USSD_INPUT (`path` or
    `latest`) overriding its parts."""
    preset = _choice(env, "USSD_PRESET", tuple(USSD_PRESETS), "africastalking")
    (session, phone, text), answer, kind = USSD_PRESETS[preset]
    names: dict[str, str | None] = {"session": session, "phone": phone, "text": text}
    names["step"] = None
    for item in filter(None, (p.strip() for p in (env.get("USSD_FIELDS") or "").split(","))):
        role, sep, field_name = item.partition("=")
        if (
            role.strip() not in names
            or not sep
            or not re.fullmatch(r"[A-Za-z_][\w.-]{0,40}", field_name.strip())
        ):
            raise ConfigError(f"USSD_FIELDS: {item!r} is not session=, phone=, text= or step=NAME")
        names[role.strip()] = field_name.strip()
    answer = _choice(env, "USSD_ANSWER", USSD_ANSWERS, answer)
    kind = _choice(env, "USSD_INPUT", USSD_INPUTS, kind)
    fields = (str(names["session"]), str(names["phone"]), str(names["text"]))
    return UssdConvention(fields, answer, kind, names["step"])


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def new_fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _dev_secrets(instance: Path) -> dict[str, str]:
    """Secrets generated once per checkout, so sessions and pseudonyms survive restarts."""
    path = instance / DEV_SECRETS_FILE
    if path.exists():
        try:
            stored = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: unreadable development secrets ({exc})") from exc
        if all(isinstance(stored.get(n), str) for n in _SECRET_NAMES):
            return {n: stored[n] for n in _SECRET_NAMES}
    instance.mkdir(parents=True, exist_ok=True)
    generated = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PHONE_HASH_KEY": secrets.token_urlsafe(32),
        "DATA_KEY": new_fernet_key(),
    }
    path.write_text(json.dumps(generated), "utf-8")
    path.chmod(0o600)
    return generated


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def _regions(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("PHONE_REGIONS") or "ML,NE,MR"
    regions = tuple(r.strip().upper() for r in raw.split(",") if r.strip())
    if not regions or any(len(r) != 2 or not r.isalpha() for r in regions):
        raise ConfigError(f"PHONE_REGIONS={raw!r} must be ISO country codes like ML,NE,MR")
    return regions


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from exc


def load_settings(
    env: Mapping[str, str] | None = None, instance_path: str | None = None
) -> Settings:
    """Read and check every setting; raise ConfigError naming the first bad one."""
    env = os.environ if env is None else env
    instance = Path(instance_path or env.get("GATEWAY_INSTANCE_PATH") or "instance").resolve()
    mode = _choice(env, "GATEWAY_ENV", ENVIRONMENTS, "development")
    given = {n: _blank_to_none(env.get(n)) for n in _SECRET_NAMES}
    missing = [n for n, v in given.items() if v is None]
    if missing and mode == "production":
        raise ConfigError(f"{missing[0]} is required when GATEWAY_ENV=production")
    generated = _dev_secrets(instance) if missing else {}
    values = {n: given[n] or generated[n] for n in _SECRET_NAMES}
    default_db = f"sqlite:///{instance / 'gateway.db'}"
    channels = _channels(env)
    ussd = _ussd(env)
    settings = Settings(
        database_url=_blank_to_none(env.get("DATABASE_URL")) or default_db,
        secret_key=values["SECRET_KEY"],
        phone_hash_key=values["PHONE_HASH_KEY"],
        data_key=values["DATA_KEY"],
        env=mode,
        sms_provider=channels[0],
        sms_extra_channels=channels[1:],
        sms_fallback_provider=(
            _channel("SMS_FALLBACK_PROVIDER", fallback)
            if (fallback := _blank_to_none(env.get("SMS_FALLBACK_PROVIDER")))
            else None
        ),
        sms_handling=_choice(env, "SMS_HANDLING", SMS_HANDLING, "queue"),
        sms_routes=_routes(env, channels),
        at_username=_blank_to_none(env.get("AT_USERNAME")),
        at_api_key=_blank_to_none(env.get("AT_API_KEY")),
        at_sender_id=_blank_to_none(env.get("AT_SENDER_ID")),
        at_webhook_token=_blank_to_none(env.get("AT_WEBHOOK_TOKEN")),
        twilio_account_sid=_blank_to_none(env.get("TWILIO_ACCOUNT_SID")),
        twilio_auth_token=_blank_to_none(env.get("TWILIO_AUTH_TOKEN")),
        twilio_from=_blank_to_none(env.get("TWILIO_FROM")),
        kannel_send_url=_blank_to_none(env.get("KANNEL_SEND_URL")),
        kannel_username=_blank_to_none(env.get("KANNEL_USERNAME")),
        kannel_password=_blank_to_none(env.get("KANNEL_PASSWORD")),
        kannel_from=_blank_to_none(env.get("KANNEL_FROM")),
        kannel_smsc=_blank_to_none(env.get("KANNEL_SMSC")),
        kannel_webhook_token=_blank_to_none(env.get("KANNEL_WEBHOOK_TOKEN")),
        kannel_dlr_base_url=(_blank_to_none(env.get("KANNEL_DLR_BASE_URL")) or "").rstrip("/")
        or None,
        android_api_url=_blank_to_none(env.get("ANDROID_API_URL")),
        android_username=_blank_to_none(env.get("ANDROID_USERNAME")),
        android_password=_blank_to_none(env.get("ANDROID_PASSWORD")),
        android_signing_key=_blank_to_none(env.get("ANDROID_SIGNING_KEY")),
        android_ping_max=dt.timedelta(minutes=_int(env, "ANDROID_PING_MAX", 15)),
        ops_phones=_phones(env, "OPS_PHONES"),
        ussd_fields=ussd.fields,
        ussd_answer=ussd.answer,
        ussd_input=ussd.input,
        ussd_step_field=ussd.step_field,
        ussd_webhook_token=_blank_to_none(env.get("USSD_WEBHOOK_TOKEN")),
        ussd_resume=dt.timedelta(minutes=_int(env, "USSD_RESUME_MINUTES", 15)),
        twilio_webhook_key=_blank_to_none(env.get("TWILIO_WEBHOOK_KEY")),
        public_base_url=(_blank_to_none(env.get("PUBLIC_BASE_URL")) or "").rstrip("/") or None,
        trusted_proxies=_int(env, "TRUSTED_PROXIES", 0),
        default_language=_choice(env, "DEFAULT_LANGUAGE", LANGUAGES, "fr"),
        phone_regions=_regions(env),
        console_sms_file=_blank_to_none(env.get("CONSOLE_SMS_FILE")),
        phone_hash_key_version=_int(env, "PHONE_HASH_KEY_VERSION", 1),
        phone_hash_key_previous=_blank_to_none(env.get("PHONE_HASH_KEY_PREVIOUS")),
        data_key_previous=_blank_to_none(env.get("DATA_KEY_PREVIOUS")),
        instance_path=str(instance),
        dev_secrets=frozenset(n for n in _SECRET_NAMES if given[n] is None),
    )
    check(settings)
    return settings


def check(settings: Settings) -> None:
    """Cross-setting rules; raise ConfigError naming the setting at fault."""
    if settings.phone_hash_key_version < 1:
        raise ConfigError("PHONE_HASH_KEY_VERSION must be 1 or more")
    if not 0 <= settings.trusted_proxies <= 5:
        raise ConfigError("TRUSTED_PROXIES must be between 0 and 5 (the proxies in front)")
    if settings.sms_fallback_provider == settings.sms_provider:
        raise ConfigError("SMS_FALLBACK_PROVIDER must differ from SMS_PROVIDER")
    _check_durations(settings)
    _check_data_key(settings.data_key, "DATA_KEY")
    if settings.data_key_previous:
        _check_data_key(settings.data_key_previous, "DATA_KEY_PREVIOUS")
    for provider in sorted(settings.providers):
        _check_provider(settings, provider)
    if not settings.is_production:
        return
    if settings.dev_secrets:
        raise ConfigError(f"{sorted(settings.dev_secrets)[0]} must be set in production")
    if "console" in settings.providers:
        raise ConfigError("SMS_PROVIDER=console cannot be used in production")


def _check_durations(settings: Settings) -> None:
    if settings.android_ping_max <= dt.timedelta(0):
        raise ConfigError("ANDROID_PING_MAX must be a positive number of minutes")
    if not dt.timedelta(0) <= settings.ussd_resume <= dt.timedelta(hours=24):
        raise ConfigError("USSD_RESUME_MINUTES must be between 0 (never) and 1440 minutes")


def _check_provider(settings: Settings, provider: str) -> None:
    _check_channel_provider(settings, provider)
    if provider == "africastalking":
        for name in ("at_username", "at_api_key"):
            if not getattr(settings, name):
                raise ConfigError(f"{name.upper()} is required with SMS_PROVIDER=africastalking")
        if settings.is_production and not settings.at_webhook_token:
            raise ConfigError("AT_WEBHOOK_TOKEN is required in production with Africa's Talking")
    if provider == "twilio":
        for name in ("twilio_account_sid", "twilio_auth_token", "twilio_from"):
            if not getattr(settings, name):
                raise ConfigError(f"{name.upper()} is required with SMS_PROVIDER=twilio")
        # Signatures are over the URL Twilio called, and status callbacks need it.
        if settings.is_production and not settings.public_base_url:
            raise ConfigError("PUBLIC_BASE_URL is required in production with Twilio")


_REQUIRED = {
    "kannel": ("kannel_send_url", "kannel_username", "kannel_password"),
    "android": ("android_api_url", "android_username", "android_password", "android_signing_key"),
}
_WEBHOOK_SECRET = {"kannel": "kannel_webhook_token"}


def _check_channel_provider(settings: Settings, provider: str) -> None:
    for name in _REQUIRED.get(provider, ()):
        if not getattr(settings, name):
            raise ConfigError(f"{name.upper()} is required with SMS_PROVIDER={provider}")
    secret = _WEBHOOK_SECRET.get(provider)
    if secret and settings.is_production and not getattr(settings, secret):
        raise ConfigError(f"{secret.upper()} is required in production with {provider}")


def _check_data_key(key: str, name: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ConfigError(f"{name} must be a Fernet key (urlsafe base64 of 32 bytes)") from exc
    if len(raw) != 32:
        raise ConfigError(f"{name} must be a Fernet key (urlsafe base64 of 32 bytes)")

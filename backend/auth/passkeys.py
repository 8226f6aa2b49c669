"""The one module that talks to py_webauthn. Everything it raises becomes PasskeyError.

Limits stated plainly: we ask for discoverable credentials with user verification *preferred* (many
cheap phones have no biometrics; a screen lock is enough), accept no attestation (we do not restrict
authenticator models), and check the signature counter ourselves so that a counter going backwards
can be told apart from a bad signature: the first is flagged for a social worker, the second is noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_authenticator_data,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from backend.i18n import lazy_gettext

CEREMONY_TIMEOUT_MS = 180_000
MAX_RESPONSE_BYTES = 64 * 1024


class PasskeyError(Exception):
    """A passkey response could not be accepted. `reason` is for logs and audit, never for the user."""

    message = lazy_gettext("The passkey could not be checked. Please try again, or sign in with your card.")

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CounterWentBackwards(PasskeyError):
    """A valid signature whose counter is not above the stored one: a cloned authenticator, perhaps."""


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    name: str
    origin: str

    @classmethod
    def from_origin(cls, origin: str, name: str = "Carelog") -> RelyingParty:
        # Browsers refuse an IP address as RP ID: serve passkeys on a host name (localhost in development).
        return cls(id=urlsplit(origin).hostname or "localhost", name=name, origin=origin)


@dataclass(frozen=True, slots=True)
class NewPasskey:
    credential_id: str
    public_key: bytes
    sign_count: int
    backed_up: bool


@dataclass(frozen=True, slots=True)
class Assertion:
    credential_id: str
    user_handle: bytes | None


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    sign_count: int
    backed_up: bool
    # The authenticator checked the person (PIN, fingerprint, screen lock): the UV flag. Only such an
    # assertion proves who holds the phone, for money steps (auth/stepup.py).
    user_verified: bool


def _load(response: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(response, dict):
        return response
    if len(response) > MAX_RESPONSE_BYTES:
        raise PasskeyError("response too large")
    try:
        value = json.loads(response)
    except ValueError:
        raise PasskeyError("response is not JSON") from None
    if not isinstance(value, dict):
        raise PasskeyError("response is not an object")
    return value


def registration_options(
    rp: RelyingParty, *, user_handle: bytes, user_name: str, display_name: str, existing: list[str]
) -> tuple[str, bytes]:
    from webauthn import base64url_to_bytes

    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        timeout=CEREMONY_TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing],
    )
    return options_to_json(options), options.challenge


def verify_registration(rp: RelyingParty, response: str | dict[str, Any], *, challenge: bytes) -> NewPasskey:
    try:
        verified = verify_registration_response(
            credential=_load(response),
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_presence=True,
        )
    except PasskeyError:
        raise
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise PasskeyError(f"registration refused: {type(exc).__name__}: {exc}") from None
    return NewPasskey(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        backed_up=verified.credential_device_type is CredentialDeviceType.MULTI_DEVICE,
    )


def authentication_options(
    rp: RelyingParty, *, require_verification: bool = False, allow: list[str] | None = None
) -> tuple[str, bytes]:
    """Sign-in: no allowCredentials, the phone offers the user's discoverable passkeys and nothing is
    typed. Confirming it's her (step-up): her own credentials only, and user verification required."""
    from webauthn import base64url_to_bytes

    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=CEREMONY_TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in allow]
        if allow
        else None,
        user_verification=UserVerificationRequirement.REQUIRED
        if require_verification
        else UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def read_assertion(response: str | dict[str, Any]) -> Assertion:
    """Which credential (and which user handle) an assertion claims, before anything is trusted."""
    try:
        credential = parse_authentication_credential_json(_load(response))
    except PasskeyError:
        raise
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise PasskeyError(f"malformed assertion: {type(exc).__name__}") from None
    return Assertion(credential_id=credential.id, user_handle=credential.response.user_handle)


def verify_assertion(
    rp: RelyingParty,
    response: str | dict[str, Any],
    *,
    challenge: bytes,
    public_key: bytes,
    stored_sign_count: int,
) -> VerifiedAssertion:
    data = _load(response)
    try:
        # The library's counter check is switched off (current count 0) so that we can tell a
        # genuine but backwards counter from a forgery: the signature is verified either way.
        verified = verify_authentication_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=False,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise PasskeyError(f"assertion refused: {type(exc).__name__}: {exc}") from None
    new_count = verified.new_sign_count
    # Synced passkeys report 0 every time; that is fine. Otherwise the counter must go up.
    if (new_count > 0 or stored_sign_count > 0) and new_count <= stored_sign_count:
        raise CounterWentBackwards(f"sign count {new_count} not above {stored_sign_count}")
    return VerifiedAssertion(
        sign_count=new_count,
        backed_up=verified.credential_device_type is CredentialDeviceType.MULTI_DEVICE,
        user_verified=bool(verified.user_verified),
    )


def authenticator_sign_count(response: str | dict[str, Any]) -> int:
    """The counter an assertion reports (used in tests and diagnostics)."""
    data = _load(response)
    try:
        from webauthn import base64url_to_bytes

        return int(
            parse_authenticator_data(base64url_to_bytes(data["response"]["authenticatorData"])).sign_count
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise PasskeyError(f"malformed authenticator data: {type(exc).__name__}") from None

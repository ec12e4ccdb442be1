"""Names every Teamtailor module shares: the provider name, the inbound kinds, the result-card
actions and the refusal texts. A leaf module (it imports nothing of ours), so provider, services,
views and writeback can all depend on it without an import cycle."""

from __future__ import annotations

PROVIDER_NAME = "teamtailor"

# The two kinds of inbound call the shared intake hands to ``TeamtailorProvider.verify_inbound``.
KIND_PARTNER = "partner"
KIND_COMPANY = "company"

# The key a sent delivery's ``remote_refs`` keep the partner-result id under (trigger mode keeps
# the partner result it created on the integration's ``AssessmentLink``).
PARTNER_RESULT_REF = "partner_result_id"

UNAUTHORIZED = "Unauthorized."
UPDATE_URL_REFUSED = (
    "Stagehook cannot report back to this Teamtailor result (its update address is not a Teamtailor "
    "host of this account's region), so no interview was sent. Contact Stagehook support."
)
REGION_REFUSED = (
    "This Teamtailor account answers from another data region than its Stagehook connection. "
    "Nothing was moved; contact Stagehook support."
)

# Buttons on the partner-result card (``actions[{buttonText, endpoint}]``). Teamtailor POSTs to
# ``{our base URL}/{endpoint}`` when a recruiter clicks, i.e. ``/teamtailor/actions/<name>``.
ACTION_RESEND = "resend"
ACTION_CANCEL = "cancel"
ACTION_BUTTONS = {ACTION_RESEND: "Resend invitation", ACTION_CANCEL: "Cancel interview"}
ACTION_EVENT_PREFIX = "partner.action."

"""Recruiter accounts are provisioned by the vendor's admins (or apply_config), never self-served."""

from allauth.account.adapter import DefaultAccountAdapter


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

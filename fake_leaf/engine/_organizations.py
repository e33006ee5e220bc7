"""Provider organizations as Leaf lists them (John Deere, Trimble), and John Deere's sync management."""

from __future__ import annotations

from fake_leaf.engine import _errors as err
from fake_leaf.engine._lifecycle import Lifecycle
from fake_leaf.engine._models import CredentialStatus, OrganizationStatus, ProviderOrganization, _CredentialRecord

__tracebackhide__ = err.hide_refusals  # pytest shows the test's frames for the fake's refusals

SETTABLE = (OrganizationStatus.SELECTED, OrganizationStatus.PREVIEW)


class OrganizationsPart(Lifecycle):
    def _organizations_of(self, owner: str, leaf_user_id: str, provider_name: str, *,
                          managed: bool = False) -> _CredentialRecord:
        """The credential whose organizations are asked for; 404s that say which of user, provider, credential."""
        provider = self.provider(provider_name)
        user = self._user(owner, leaf_user_id)
        declared = provider.organizations
        if declared is None or (managed and not declared.sync_management):
            offered = [p.name for p in self.providers.values()
                       if p.organizations is not None and (p.organizations.sync_management or not managed)]
            raise err.no_organizations(provider.label, managed, offered)
        record = user.credentials.get(provider.name)
        if record is None:
            raise err.organizations_without_credentials(leaf_user_id, provider.label)
        self._bring_up(record)
        self._flush_syncs()  # Leaf's list as the checks left it
        return record

    def list_organizations(self, owner: str, leaf_user_id: str, provider_name: str) -> list[ProviderOrganization]:
        """Leaf's list of the account's organizations, in the order found."""
        with self._lock:
            self._begin()
            return list(self._organizations_of(owner, leaf_user_id, provider_name).organizations.values())

    def organizations_page(self, owner: str, leaf_user_id: str, provider_name: str, *, page: int = 0,
                           size: int = 20) -> tuple[list[ProviderOrganization], int]:
        """One page of the organizations Leaf manages (John Deere), and their count; ``size`` capped at 100."""
        size = err.page_size(page, size)
        with self._lock:
            self._begin()
            held = list(self._organizations_of(owner, leaf_user_id, provider_name, managed=True).organizations.values())
            start = page * size  # slices clip numbers of any size
            return held[start:start + size], len(held)

    def get_organization(self, owner: str, leaf_user_id: str, provider_name: str, org_id: str) -> ProviderOrganization:
        with self._lock:
            self._begin()
            record = self._organizations_of(owner, leaf_user_id, provider_name, managed=True)
            return _one(record, org_id)

    def set_organization_status(self, owner: str, leaf_user_id: str, provider_name: str, org_id: str,
                                status: str) -> ProviderOrganization:
        """SELECTED <-> PREVIEW, as a client decides; BLOCKED is Leaf's to set, and a BLOCKED one stays."""
        if status not in OrganizationStatus.__members__:
            raise err.InvalidInputError([err.FieldError(
                "providerOrganization", "status", "Pattern",
                f"must be {' or '.join(s.value for s in SETTABLE)}, got {status[:100]!r}")])
        wanted = OrganizationStatus(status)
        with self._lock:
            self._begin()
            record = self._organizations_of(owner, leaf_user_id, provider_name, managed=True)
            org = _one(record, org_id)
            if wanted not in SETTABLE or org.status is OrganizationStatus.BLOCKED:
                raise err.organization_status_not_settable(org_id, wanted.value, org.status.value)
            changed = ProviderOrganization(org.provider_org_id, org.provider_org_name, wanted, org.management_uri)
            record.organizations[org_id] = changed
            return changed

    def sync_organizations(self, owner: str, leaf_user_id: str, provider_name: str) -> list[ProviderOrganization]:
        """What Leaf's sync does: a check against the provider (its calls are the credential's events), which
        brings the list up to date; an UNAUTHENTICATED credential cannot reach the provider and syncs nothing."""
        with self._lock:
            now = self._begin()
            record = self._organizations_of(owner, leaf_user_id, provider_name, managed=True)
            if record.status is not CredentialStatus.UNAUTHENTICATED:
                self._check(record, now)
                self._flush_syncs()
            return list(record.organizations.values())


def _one(record: _CredentialRecord, org_id: str) -> ProviderOrganization:
    found = record.organizations.get(org_id)
    if found is None:
        raise err.organization_not_found(org_id, record.provider.label, list(record.organizations))
    return found

-- Webhook signing secrets sealed at rest. momentry must keep a webhook's secret to sign with
-- it (HMAC is symmetric), but no secret is to reach the database in the clear: it is kept as
-- AES-256-GCM ciphertext under the audit keyring (MOMENTRY_AUDIT_KEY or the credential-store
-- entry audit-keys), as audit details are: the key id, a random 96-bit nonce, and the
-- ciphertext followed by its tag; the associated data names the webhook, so a sealed secret
-- opens for its own row only.
--
-- SQL cannot seal (the key is never in the database), so rows written in the clear before this
-- migration keep `secret` until momentry seals them: `db migrate` and `db import` seal every
-- one, and a delivery seals its webhook's on first use (docs/decisions.md). `doctor` warns while
-- any is left. A row holds its secret one way or the other, never neither.
alter table webhooks
  add column secret_key_id text,
  add column secret_nonce bytea,
  add column secret_sealed bytea,
  alter column secret drop not null,
  add constraint webhooks_secret_sealed_whole check ((secret_key_id is null) = (secret_nonce is null) and (secret_nonce is null) = (secret_sealed is null)),
  add constraint webhooks_secret_kept check (secret is not null or secret_sealed is not null);

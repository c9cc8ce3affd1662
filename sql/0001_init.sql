-- momentry: the key lifecycle and the tables the seed names.
-- Status is derived from these columns (see src/core/api-keys/status.ts), never stored,
-- so it cannot drift from the timestamps that define it.

create table api_keys (
  id                    bigint generated always as identity primary key,
  key_id                text not null unique check (key_id ~ '^key_[0-9A-Za-z]{16}$'),
  key_hash              bytea not null unique check (octet_length(key_hash) = 32),
  key_stub              text not null check (length(key_stub) <= 16),
  name                  text not null check (length(name) between 1 and 100),
  key_type              text not null check (key_type in ('system', 'user', 'service', 'integration', 'emergency')),
  scopes                text[] not null default '{}',
  owner                 text check (length(owner) <= 200),
  metadata              jsonb not null default '{}'::jsonb,
  enabled               boolean not null default true,
  disabled_at           timestamptz,
  disabled_reason       text,
  created_at            timestamptz not null,
  created_by            text not null,
  expires_at            timestamptz,
  last_used_at          timestamptz,
  rotate_every_seconds  integer check (rotate_every_seconds > 0),
  rotated_from          text references api_keys (key_id) on delete set null,
  replaced_by           text references api_keys (key_id) on delete set null,
  rotated_at            timestamptz,
  grace_expires_at      timestamptz,
  revoked_at            timestamptz,
  revoked_reason        text
);

-- Keyset pagination (newest first) under each filter `api-key list` offers.
create index api_keys_type_id_idx on api_keys (key_type, id desc);
create index api_keys_owner_id_idx on api_keys (owner, id desc) where owner is not null;
create index api_keys_expiring_idx on api_keys (expires_at) where expires_at is not null and revoked_at is null;
create index api_keys_rotation_due_idx on api_keys (id)
  where rotate_every_seconds is not null and replaced_by is null and revoked_at is null;

-- Append-only trail of every state change, written in the change's own transaction.
-- No foreign key: audit rows outlive the keys they describe.
create table api_key_audit_log (
  id          bigint generated always as identity primary key,
  key_id      text,
  action      text not null,
  actor       text not null,
  ip_address  inet,
  details     jsonb not null default '{}'::jsonb,
  created_at  timestamptz not null
);
create index api_key_audit_log_key_idx on api_key_audit_log (key_id, id);
create index api_key_audit_log_action_idx on api_key_audit_log (action, id);

create table api_key_anomalies (
  id               bigint generated always as identity primary key,
  anomaly_id       text not null unique,
  key_id           text not null references api_keys (key_id) on delete cascade,
  anomaly_type     text not null check (anomaly_type in ('high_request_rate', 'high_error_rate', 'multiple_ips', 'unusual_time')),
  severity         text not null check (severity in ('low', 'medium', 'high', 'critical')),
  observed         double precision not null,
  threshold        double precision not null,
  window_seconds   integer not null,
  details          jsonb not null default '{}'::jsonb,
  first_seen_at    timestamptz not null,
  last_seen_at     timestamptz not null,
  count            integer not null default 1,
  status           text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  resolved_at      timestamptz,
  resolved_by      text,
  resolution_note  text
);
-- One unresolved anomaly per key and type: repeats bump its count.
create unique index api_key_anomalies_open_idx on api_key_anomalies (key_id, anomaly_type) where status <> 'resolved';
create index api_key_anomalies_status_idx on api_key_anomalies (status, last_seen_at desc);

-- Gitea personal access tokens minted through momentry. The secret (sha1) is never stored.
create table gitea_tokens (
  id                bigint generated always as identity primary key,
  gitea_url         text not null,
  gitea_token_id    bigint not null,
  username          text not null,
  token_name        text not null,
  scopes            text[] not null default '{}',
  token_last_eight  text not null check (length(token_last_eight) <= 8),
  created_at        timestamptz not null,
  created_by        text not null,
  deleted_at        timestamptz,
  unique (gitea_url, username, gitea_token_id)
);

-- n8n public-API keys minted through momentry. The secret (rawApiKey) is never stored.
create table n8n_api_keys (
  id          bigint generated always as identity primary key,
  n8n_url     text not null,
  n8n_key_id  text not null,
  label       text not null,
  scopes      text[] not null default '{}',
  last4       text not null check (length(last4) <= 4),
  expires_at  timestamptz,
  created_at  timestamptz not null,
  created_by  text not null,
  deleted_at  timestamptz,
  unique (n8n_url, n8n_key_id)
);

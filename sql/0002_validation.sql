-- The validation path at scale: IP blacklist and per-minute usage aggregates.

create table ip_blacklist (
  id          bigint generated always as identity primary key,
  network     cidr not null unique,
  reason      text,
  created_at  timestamptz not null,
  created_by  text not null,
  expires_at  timestamptz
);
-- `network >>= $ip` lookups from one-shot CLI runs (servers mirror the list in memory).
create index ip_blacklist_network_idx on ip_blacklist using gist (network inet_ops);

-- One row per key per minute, upserted in batches by the usage recorder.
-- No foreign key: usage history outlives purged keys, as the audit log does.
create table key_usage_minute (
  key_id      text not null,
  minute      timestamptz not null,
  ok_count    integer not null default 0,
  fail_count  integer not null default 0,
  primary key (key_id, minute)
);
create index key_usage_minute_minute_idx on key_usage_minute (minute);

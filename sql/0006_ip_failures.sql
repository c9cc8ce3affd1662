-- Failed validations per source IP, for lockout without Redis (SPEC §2, no-Redis mode): one
-- row per address, counted atomically by an upsert, so separate CLI runs and servers share it.
create table ip_failures (
  ip          text primary key,
  attempts    integer not null check (attempts > 0),
  window_ends timestamptz not null
);

-- Failed validations per minute, by failure code and source (SPEC §10: `report security`, and
-- failures by code in `report usage`). Written by the usage recorder in the same statement as
-- key_usage_minute. `ip` is '' for a validation without a source IP (a CLI `validate` without
-- --ip) and '*' for the catch-all the recorder folds sources into when too many distinct ones
-- wait in memory; `key_id` is '' for a failure no key can be named for (MALFORMED, NOT_FOUND,
-- BLACKLISTED, RATE_LIMITED at the door). Empty strings rather than NULL: they are part of the
-- primary key the upsert conflicts on.
-- No foreign key: usage history outlives purged keys, as key_usage_minute's does.
create table validation_failure_minute (
  minute  timestamptz not null,
  code    text not null check (code ~ '^[A-Z_]{1,40}$'),
  ip      text not null default '',
  key_id  text not null default '',
  count   integer not null check (count > 0),
  -- Minute first: the reports' window scans and cleanup's purge are range scans of this index,
  -- so no second index is needed.
  primary key (minute, code, ip, key_id)
);

-- A source as inet, or NULL when it is not an address ('' and '*' above, or anything else a
-- row may hold): the security report matches sources against ip_blacklist without one bad
-- value failing the whole query.
create function momentry_try_inet(value text) returns inet
  language plpgsql immutable strict parallel safe
  as $$
begin
  return value::inet;
exception when invalid_text_representation then
  return null;
end $$;

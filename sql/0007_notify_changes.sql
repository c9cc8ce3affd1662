-- Invalidation travels with the commit (SPEC §5): a change to what validation reads of a key,
-- or to the blacklist, sends a NOTIFY from inside the changing transaction, so every
-- momentry process that LISTENs hears of it exactly when it commits — whoever made the
-- change (CLI, serve, a cleanup, an import, plain SQL). Usage bookkeeping (last_used_at,
-- rotation_notified_at) does not notify.

create function momentry_notify_key_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify('momentry_key_changed', coalesce(new.key_id, old.key_id));
  return null;
end $$;

create trigger api_keys_notify_changed
  after update of name, key_type, scopes, owner, enabled, expires_at, replaced_by, grace_expires_at, revoked_at on api_keys
  for each row when (old.* is distinct from new.*) execute function momentry_notify_key_changed();
create trigger api_keys_notify_deleted
  after delete on api_keys for each row execute function momentry_notify_key_changed();

create function momentry_notify_blacklist_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify('momentry_blacklist_changed', coalesce(new.network, old.network)::text);
  return null;
end $$;

create trigger ip_blacklist_notify_changed
  after insert or update or delete on ip_blacklist for each row execute function momentry_notify_blacklist_changed();

-- A TRUNCATE fires no row trigger, so the invalidations of 0007 would miss it (`db import
-- --replace` empties the tables with one): a statement trigger sends the channel's flush-all
-- payload '*' instead, from the same transaction, and every LISTENing process forgets all
-- it cached of that table when the TRUNCATE commits.

create function momentry_notify_flush_all() returns trigger language plpgsql as $$
begin
  perform pg_notify(tg_argv[0], '*');
  return null;
end $$;

create trigger api_keys_notify_truncated
  after truncate on api_keys for each statement execute function momentry_notify_flush_all('momentry_key_changed');
create trigger ip_blacklist_notify_truncated
  after truncate on ip_blacklist for each statement execute function momentry_notify_flush_all('momentry_blacklist_changed');

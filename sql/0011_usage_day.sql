-- Validations per key per UTC day, kept equal to the per-minute table summed by day, so a report
-- over 30 days reads one row per key per day (10k keys: 300k rows) instead of every minute with
-- use (2.4M rows at eight minutes a day: 2.2 s of scan and hash spill against 0.2 s).
-- Statement triggers with transition tables keep it exact whoever writes the minutes: the usage
-- recorder's batched upsert, an import's COPY, cleanup's purge, a test seeding rows directly.
create table key_usage_day (
  key_id       text not null,
  day          date not null,
  ok_count     bigint not null default 0,
  fail_count   bigint not null default 0,
  -- The last minute with use that day.
  last_minute  timestamptz not null,
  primary key (key_id, day)
);
create index key_usage_day_day_idx on key_usage_day (day);

insert into key_usage_day (key_id, day, ok_count, fail_count, last_minute)
  select key_id, (minute at time zone 'UTC')::date, sum(ok_count), sum(fail_count), max(minute)
  from key_usage_minute group by 1, 2;

create function momentry_usage_day_add() returns trigger language plpgsql as $$
begin
  insert into key_usage_day as d (key_id, day, ok_count, fail_count, last_minute)
    select key_id, (minute at time zone 'UTC')::date, sum(ok_count), sum(fail_count), max(minute)
    from new_rows group by 1, 2
  on conflict (key_id, day) do update
    set ok_count = d.ok_count + excluded.ok_count,
        fail_count = d.fail_count + excluded.fail_count,
        last_minute = greatest(d.last_minute, excluded.last_minute);
  return null;
end $$;

-- An update adds what changed (the recorder's ON CONFLICT adds to a minute's counts).
create function momentry_usage_day_change() returns trigger language plpgsql as $$
begin
  insert into key_usage_day as d (key_id, day, ok_count, fail_count, last_minute)
    select n.key_id, (n.minute at time zone 'UTC')::date, sum(n.ok_count - o.ok_count), sum(n.fail_count - o.fail_count), max(n.minute)
    from new_rows n join old_rows o using (key_id, minute) group by 1, 2
  on conflict (key_id, day) do update
    set ok_count = d.ok_count + excluded.ok_count,
        fail_count = d.fail_count + excluded.fail_count,
        last_minute = greatest(d.last_minute, excluded.last_minute);
  return null;
end $$;

-- A delete (cleanup's purge of old minutes) recounts the days it touched from what is left.
create function momentry_usage_day_recount() returns trigger language plpgsql as $$
begin
  with touched as (select distinct key_id, (minute at time zone 'UTC')::date as day from old_rows),
  left_over as (
    select t.key_id, t.day, sum(m.ok_count) as ok, sum(m.fail_count) as fail, max(m.minute) as last_minute
    from touched t join key_usage_minute m
      on m.key_id = t.key_id and m.minute >= t.day::timestamp at time zone 'UTC' and m.minute < (t.day + 1)::timestamp at time zone 'UTC'
    group by 1, 2
  ),
  gone as (
    delete from key_usage_day d using touched t
    where d.key_id = t.key_id and d.day = t.day and not exists (select 1 from left_over l where l.key_id = t.key_id and l.day = t.day)
  )
  update key_usage_day d set ok_count = l.ok, fail_count = l.fail, last_minute = l.last_minute
  from left_over l where d.key_id = l.key_id and d.day = l.day;
  return null;
end $$;

create function momentry_usage_day_clear() returns trigger language plpgsql as $$
begin
  delete from key_usage_day;
  return null;
end $$;

create trigger key_usage_minute_day_insert after insert on key_usage_minute
  referencing new table as new_rows for each statement execute function momentry_usage_day_add();
create trigger key_usage_minute_day_update after update on key_usage_minute
  referencing old table as old_rows new table as new_rows for each statement execute function momentry_usage_day_change();
create trigger key_usage_minute_day_delete after delete on key_usage_minute
  referencing old table as old_rows for each statement execute function momentry_usage_day_recount();
create trigger key_usage_minute_day_truncate after truncate on key_usage_minute
  for each statement execute function momentry_usage_day_clear();

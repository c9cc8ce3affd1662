-- The audit trail becomes a hash chain with encrypted details (SPEC §10).
--
-- Every row: a gapless sequence number, its previous row's hash and its own hash =
-- SHA-256(prev_hash ‖ 'momentry-audit-v1\n' ‖ the row's fields), each field as a 4-byte
-- big-endian length (-1 for NULL) and its bytes — the field encoding of PostgreSQL's binary
-- COPY, so `audit verify` hashes the bytes COPY sends without re-encoding anything. The
-- fields, in order: seq, created_at (microseconds since the epoch), actor, action, target,
-- key_id, ip_address, audit_key_id, nonce, ciphertext, legacy_details (all as UTF-8 text
-- except nonce and ciphertext). Details are AES-256-GCM ciphertext (nonce ‖ ciphertext ‖ tag
-- in two columns) under the key named by audit_key_id: the database never sees them in clear.

-- The database's identity: the origin line of its signed checkpoints. Survives export/import.
create table momentry_instance (
  singleton  boolean primary key default true check (singleton),
  id         uuid not null default gen_random_uuid(),
  created_at timestamptz not null default now()
);
insert into momentry_instance default values;

-- The chain head: the last sequence number handed out. An append locks this one row
-- (UPDATE … RETURNING) inside the change's transaction, so appends serialise and the sequence
-- has no gaps (a rolled-back append rolls its number back too). The last row's hash is that
-- row's own; keeping a copy here would cost every append a second update of this row.
create table audit_chain_head (
  singleton boolean primary key default true check (singleton),
  seq       bigint not null default 0
);
insert into audit_chain_head default values;

-- The one definition of a row's hash (the TypeScript verifier hashes the same bytes).
-- PL/pgSQL, not nested SQL functions: those are not inlined here and cost ~0.3 ms a row.
create function momentry_audit_hash(
  prev bytea, seq bigint, created_at timestamptz, actor text, action text, target text, key_id text,
  ip inet, audit_key_id text, nonce bytea, ciphertext bytea, legacy_details text
) returns bytea
  language plpgsql immutable parallel safe
  as $$
declare
  fields bytea[] := array[
    convert_to(seq::text, 'UTF8'),
    convert_to(((extract(epoch from created_at) * 1000000)::bigint)::text, 'UTF8'),
    convert_to(actor, 'UTF8'), convert_to(action, 'UTF8'), convert_to(target, 'UTF8'), convert_to(key_id, 'UTF8'),
    convert_to(abbrev(ip), 'UTF8'), convert_to(audit_key_id, 'UTF8'), nonce, ciphertext, convert_to(legacy_details, 'UTF8')];
  buf bytea := prev || convert_to(E'momentry-audit-v1\n', 'UTF8');
  f bytea;
begin
  -- Each field as binary COPY sends it: a 4-byte big-endian length (-1 for NULL), then its bytes.
  foreach f in array fields loop
    if f is null then
      buf := buf || int4send(-1);
    else
      buf := buf || int4send(length(f)) || f;
    end if;
  end loop;
  return sha256(buf);
end $$;

alter table api_key_audit_log
  add column seq bigint,
  add column target text,
  add column audit_key_id text,
  add column nonce bytea,
  add column ciphertext bytea,
  add column legacy_details text,
  add column prev_hash bytea,
  add column hash bytea;

-- Rows written before the chain existed join it once, in their order, keeping their details
-- as they were (plaintext: no key existed then, and the migration never sees one).
update api_key_audit_log a
  set seq = o.n, target = coalesce(a.key_id, host(a.ip_address)), legacy_details = a.details::text
  from (select id, row_number() over (order by id) as n from api_key_audit_log) o
  where o.id = a.id;

do $$
declare
  r record;
  prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
  h bytea;
  last bigint := 0;
begin
  for r in select * from api_key_audit_log order by seq loop
    h := momentry_audit_hash(prev, r.seq, r.created_at, r.actor, r.action, r.target, r.key_id,
      r.ip_address, null, null, null, r.legacy_details);
    update api_key_audit_log set prev_hash = prev, hash = h where id = r.id;
    prev := h;
    last := r.seq;
  end loop;
  update audit_chain_head set seq = last;
end $$;

drop index api_key_audit_log_key_idx;
drop index api_key_audit_log_action_idx;
alter table api_key_audit_log
  drop column id,
  drop column details,
  alter column seq set not null,
  alter column prev_hash set not null,
  alter column hash set not null,
  add primary key (seq),
  add constraint api_key_audit_log_details check ((ciphertext is null) = (nonce is null) and (ciphertext is null) = (audit_key_id is null));
create index api_key_audit_log_key_idx on api_key_audit_log (key_id, seq);
create index api_key_audit_log_action_idx on api_key_audit_log (action, seq);
create index api_key_audit_log_created_idx on api_key_audit_log (created_at, seq);

-- An append: the caller reserved NEW.seq with `update audit_chain_head set seq = seq + 1`
-- in this transaction (so it holds the head's row lock); this links the row to the row
-- before it and hashes it. The insert's own snapshot is taken after the lock was granted, so
-- it sees the row before (a RETURNING subquery of the reservation would not, under READ
-- COMMITTED: it keeps the snapshot from before the wait).
create function momentry_audit_append() returns trigger language plpgsql as $$
declare
  head bigint;
  prev bytea;
begin
  -- No FOR UPDATE: the appender's reservation already holds the row lock; an insert that did
  -- not reserve finds a sequence number that is taken (or not the head's) and fails.
  select seq into head from audit_chain_head;
  if new.seq is distinct from head then
    raise exception 'audit rows are appended through the chain head (expected seq %, got %)', head, new.seq
      using errcode = 'check_violation';
  end if;
  prev := coalesce((select hash from api_key_audit_log where seq = new.seq - 1), '\x0000000000000000000000000000000000000000000000000000000000000000');
  new.prev_hash := prev;
  new.hash := momentry_audit_hash(prev, new.seq, new.created_at, new.actor, new.action, new.target,
    new.key_id, new.ip_address, new.audit_key_id, new.nonce, new.ciphertext, new.legacy_details);
  return new;
end $$;
create trigger api_key_audit_log_append before insert on api_key_audit_log
  for each row execute function momentry_audit_append();

create function momentry_audit_refuse() returns trigger language plpgsql as $$
begin
  raise exception 'the audit log is append-only: % is refused', tg_op
    using errcode = 'insufficient_privilege', hint = 'audit rows are never changed or removed; see `momentry audit reseal`';
end $$;
create trigger api_key_audit_log_no_update before update or delete on api_key_audit_log
  for each row execute function momentry_audit_refuse();
create trigger api_key_audit_log_no_truncate before truncate on api_key_audit_log
  for each statement execute function momentry_audit_refuse();

-- The head only moves forward, one step at a time with its row, and never goes away. The
-- WHEN clause keeps the function out of every legitimate append (two updates of the head).
create function momentry_audit_head_guard() returns trigger language plpgsql as $$
begin
  raise exception 'the audit chain head only moves forward (% refused)', tg_op using errcode = 'insufficient_privilege';
end $$;
create trigger audit_chain_head_guard before update on audit_chain_head
  for each row when (new.seq < old.seq or new.seq > old.seq + 1) execute function momentry_audit_head_guard();
create trigger audit_chain_head_no_delete before delete on audit_chain_head
  for each row execute function momentry_audit_head_guard();
create trigger audit_chain_head_no_truncate before truncate on audit_chain_head
  for each statement execute function momentry_audit_refuse();

-- Signed checkpoints written by `audit checkpoint` and `serve` (the note is what is kept elsewhere).
create table audit_checkpoints (
  id         bigint generated always as identity primary key,
  seq        bigint not null,
  hash       bytea not null,
  note       text not null,
  created_at timestamptz not null
);

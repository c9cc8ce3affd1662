-- Webhook endpoints and their delivery outbox (Standard Webhooks signing).

create table webhooks (
  id          bigint generated always as identity primary key,
  webhook_id  text not null unique check (webhook_id ~ '^whk_[0-9A-Za-z]{16}$'),
  url         text not null,
  events      text[] not null check (cardinality(events) > 0),
  -- The HMAC signing secret (`whsec_…`) shared with the receiver; momentry must keep it to sign.
  secret      text not null,
  created_at  timestamptz not null,
  created_by  text not null
);

-- The outbox: one row per event per subscribed webhook, written before any attempt, so an
-- event survives the process that raised it. Drained by `serve`, and at once by the CLI run
-- that raised it.
create table webhook_deliveries (
  id               bigint generated always as identity primary key,
  delivery_id      text not null unique check (delivery_id ~ '^msg_[0-9A-Za-z]{20}$'),
  webhook_id       text not null references webhooks (webhook_id) on delete cascade,
  event_type       text not null,
  payload          jsonb not null,
  status           text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts         integer not null default 0,
  next_attempt_at  timestamptz not null,
  last_status      integer,
  last_error       text,
  created_at       timestamptz not null,
  delivered_at     timestamptz
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_webhook_idx on webhook_deliveries (webhook_id, id desc);

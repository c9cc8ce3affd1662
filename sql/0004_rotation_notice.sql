-- When the key.rotation_due notice went out for a key (once per key; its successor gets its own).
alter table api_keys add column rotation_notified_at timestamptz;
